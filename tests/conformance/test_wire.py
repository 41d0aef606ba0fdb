"""The wire codec round-trips every spec input and output, agrees with the schemas, and
names the JSON path (and, in files, the line) of anything malformed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance import wire
from conformance.cases import load_case
from conformance.errors import WireError
from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.types import Address, Duration, Endpoint, OrcaLoadReport, Status, StatusCode
from tests.conformance.helpers import schema_errors

ids = st.integers(1, 10_000)
text = st.text(max_size=12)
keys = st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=6)
scalars = st.one_of(
    st.text(max_size=6),
    st.integers(-1000, 1000),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
)
attributes = st.dictionaries(keys, scalars, max_size=3)
hosts = st.sampled_from(
    ["10.0.0.1", "10.0.0.2", "example.com", "[2001:db8::1]", "[::ffff:10.0.0.1]"]
)
addr_strings = st.builds(lambda h, p: f"{h}:{p}", hosts, st.integers(1, 65535))
addresses = st.builds(
    Address, addr_strings, st.sampled_from(["", "sni.example"]), attributes, attributes
)
endpoints = st.builds(
    Endpoint,
    st.lists(addresses, min_size=1, max_size=3),
    st.none() | st.integers(1, 100),
    attributes,
)
statuses = st.builds(Status, st.sampled_from(list(StatusCode)), text)
failing = st.builds(
    Status, st.sampled_from([c for c in StatusCode if c is not StatusCode.OK]), text
)
non_negative = st.floats(0, 1e6, allow_nan=False)
reports = st.builds(
    OrcaLoadReport, non_negative, non_negative, non_negative, non_negative, non_negative
)
configs = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=6,
)
live_states = st.sampled_from([State.IDLE, State.CONNECTING, State.READY])
health_states = st.sampled_from([State.CONNECTING, State.READY])

inputs = st.one_of(
    st.builds(ev.ResolverUpdate, st.lists(endpoints, max_size=3), configs, text),
    st.builds(ev.ResolverError, text),
    st.builds(ev.SubchannelStateChange, ids, live_states, st.none() | statuses),
    st.builds(ev.SubchannelStateChange, ids, st.just(State.TRANSIENT_FAILURE), statuses),
    st.builds(ev.HealthStateChange, ids, health_states, st.none() | statuses),
    st.builds(ev.HealthStateChange, ids, st.just(State.TRANSIENT_FAILURE), statuses),
    st.just(ev.ExitIdle()),
    st.just(ev.Close()),
    st.builds(ev.Pick, ids, st.sampled_from(["/a.B/C", "/pkg.Svc/Call"]), st.booleans()),
    st.builds(ev.Done, ids, st.none() | statuses, attributes, st.none() | reports),
    st.builds(ev.TimeAdvanced, st.builds(Duration, st.integers(0, 10**12))),
    st.builds(ev.OobLoadReport, ids, reports),
)
outputs = st.one_of(
    st.builds(act.NewSubchannel, ids, st.lists(addresses, min_size=1, max_size=3), st.booleans()),
    st.builds(act.Connect, ids),
    st.builds(act.Shutdown, ids),
    st.builds(act.UpdateState, st.sampled_from([s for s in State if s is not State.SHUTDOWN])),
    st.just(act.RequestReresolution()),
    st.builds(act.UpdateRejected, text),
    st.builds(act.PickComplete, ids, ids, attributes),
    st.builds(act.PickQueue, ids),
    st.builds(act.PickFail, ids, failing),
    st.builds(act.PickDrop, ids, failing),
    st.builds(act.UpdateAddresses, ids, st.lists(addresses, min_size=1, max_size=3)),
)


def through_text(value: Any) -> Any:
    return json.loads(json.dumps(value))


@pytest.mark.req("CONF-9")
@given(inputs)
def test_inputs_round_trip_and_match_the_schema(event: ev.Input) -> None:
    encoded = through_text(wire.input_to_json(event))
    assert wire.input_from_json(encoded) == event
    assert schema_errors("protocol/step", {"type": "step", "seq": 1, "input": encoded}) == []


@pytest.mark.req("CONF-9")
@given(outputs)
def test_outputs_round_trip_and_match_the_schema(output: act.Output) -> None:
    encoded = through_text(wire.output_to_json(output))
    assert wire.output_from_json(encoded) == output
    message = {"type": "outputs", "seq": 3, "outputs": [encoded]}
    assert schema_errors("protocol/outputs", message) == []


@pytest.mark.req("CONF-9")
@given(inputs)
def test_subchannel_hooks_rename_both_ways(event: ev.Input) -> None:
    encoded = wire.input_to_json(event, lambda ident: f"handle-{ident}")
    ident = getattr(event, "subchannel", None)
    assert encoded.get("subchannel") == (None if ident is None else f"handle-{ident}")
    back = wire.input_from_json(
        encoded, (), lambda value, _path: int(value.removeprefix("handle-"))
    )
    assert back == event


@pytest.mark.parametrize(
    ("value", "path", "problem"),
    [
        ({"type": "pick"}, "$", "missing key 'pick_id'"),
        ({"type": "teleport"}, "$.type", "unknown input 'teleport'"),
        ({"type": "pick", "pick_id": 0}, "$.pick_id", "positive integer"),
        ({"type": "pick", "pick_id": 1, "colour": "red"}, "$.colour", "unknown key"),
        (
            {"type": "subchannel_state", "subchannel": 1, "state": "TRANSIENT_FAILURE"},
            "$",
            "MODEL-1",
        ),
        ({"type": "subchannel_state", "subchannel": 1, "state": "SLEEPY"}, "$.state", "SLEEPY"),
        (
            {"type": "resolver_update", "endpoints": [["10.0.0.1"]]},
            "$.endpoints[0][0]",
            "host:port",
        ),
        ({"type": "resolver_update", "endpoints": [[]]}, "$.endpoints[0]", "at least one address"),
        ({"type": "advance_time", "by": "5 minutes"}, "$.by", "'1.5s'"),
        (
            {"type": "done", "pick_id": 1, "error": {"code": "NOPE"}},
            "$.error.code",
            "unknown status code",
        ),
        ({"type": "oob_load_report", "subchannel": 1, "report": {"eps": -1}}, "$.report", ">= 0"),
    ],
)
def test_bad_inputs_name_the_json_path(value: Any, path: str, problem: str) -> None:
    with pytest.raises(WireError) as info:
        wire.input_from_json(value)
    assert str(info.value).startswith(path + ": ")
    assert problem in str(info.value)


@pytest.mark.req("MODEL-4")
def test_a_failed_pick_with_status_ok_is_refused() -> None:
    with pytest.raises(WireError, match=r"^\$: a failed pick cannot have status OK"):
        wire.output_from_json({"type": "pick_fail", "pick_id": 1, "status": {"code": "OK"}})


def test_line_of_finds_values_keys_and_parents() -> None:
    source = '{\n  "a": [\n    1,\n    {"b": "x"}\n  ],\n  "c": null\n}\n'
    assert wire.line_of(source, ("a", 0)) == 3
    assert wire.line_of(source, ("a", 1, "b")) == 4
    assert wire.line_of(source, ("c",)) == 6
    assert wire.line_of(source, ("a", 1, "missing")) == 4  # nearest existing parent
    assert wire.line_of("not json", ("a",)) is None


@pytest.mark.req("CONF-9")
def test_lines_of_gives_every_path_its_line_from_one_scan() -> None:
    """What load_case uses for a case's every step (one scan of the file, not one a step)."""
    source = '{\n  "a": [\n    1,\n    {"b": "x"}\n  ],\n  "c": null\n}\n'
    paths = [("a", 0), ("a", 1, "b"), ("c",), ("a", 1, "missing"), ()]
    assert wire.lines_of(source, paths) == dict(zip(paths, [3, 4, 6, 4, 1], strict=True))
    assert wire.lines_of("not json", [("a",)]) == {("a",): None}


@pytest.mark.req("CONF-9")
def test_a_bad_case_file_names_file_line_and_path(tmp_path: Path) -> None:
    path = tmp_path / "area" / "area-bad-case.json"
    path.parent.mkdir()
    path.write_text(
        "{\n"
        '  "id": "area-bad-case",\n'
        '  "title": "t",\n'
        '  "requirements": ["LB-4"],\n'
        '  "policy": "pick_first",\n'
        '  "steps": [\n'
        '    {"input": {"type": "pick"}},\n'
        '    {"input": {"type": "subchannel_state", "subchannel": "10.0.0.1:80",\n'
        '               "state": "READYISH"}}\n'
        "  ]\n"
        "}\n"
    )
    with pytest.raises(WireError) as info:
        load_case(path)
    assert info.value.file == str(path)
    assert info.value.line == 9
    assert str(info.value) == f"{path}:9: $.steps[1].input.state: " + (
        "unknown connectivity state 'READYISH' (one of IDLE, CONNECTING, READY, "
        "TRANSIENT_FAILURE, SHUTDOWN)"
    )


def test_invalid_json_in_a_case_file_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "area" / "area-x.json"
    path.parent.mkdir()
    path.write_text('{\n  "id": "area-x",\n  "title": oops\n}\n')
    with pytest.raises(WireError, match=r":3: \$: not valid JSON"):
        load_case(path)


@pytest.mark.req("CONF-9")
@pytest.mark.parametrize("direction", ["input", "output"])
def test_the_schema_describes_each_kind_as_the_wire_table_does(direction: str) -> None:
    """wire.INPUTS / wire.OUTPUTS are the one description of each message kind; the JSON
    Schema (conformance/schema/defs.schema.json) must list the same kinds and keys."""
    schema_file = Path(wire.__file__).parent / "schema" / "defs.schema.json"
    branches = json.loads(schema_file.read_text(encoding="utf-8"))["$defs"][direction]["oneOf"]
    in_schema = {
        b["properties"]["type"]["const"]: (
            frozenset(b.get("required", ())),
            frozenset(b["properties"]) - {"type"} - frozenset(b.get("required", ())),
        )
        for b in branches
    }
    table = wire.INPUTS if direction == "input" else wire.OUTPUTS
    # The one deliberate difference: a case file may leave a pick's pick_id out (the
    # loader numbers picks), so the shared schema makes it optional (PROTOCOL.md).
    case_may_omit = {"pick": frozenset({"pick_id"})} if direction == "input" else {}
    expected = {}
    for k in table:
        omit = case_may_omit.get(k.name, frozenset())
        expected[k.name] = (k.required - omit, k.optional | omit)
    assert in_schema == expected
    assert {k.model for k in table} == set(
        ev.INPUT_TYPES if direction == "input" else act.OUTPUT_TYPES
    )
