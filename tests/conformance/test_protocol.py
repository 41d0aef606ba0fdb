"""Every protocol message both sides write matches its JSON Schema, and the handshake is read
back as written."""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from conformance import protocol
from conformance.adapters.refimpl import RefimplAdapter
from conformance.cases import load_case
from conformance.errors import WireError
from spec import options
from spec.connectivity import Profile
from tests.conformance.helpers import TEST_CASES, A, schema_errors, state, update

BASIC = load_case(TEST_CASES / "selftest" / "selftest-basic.json")


def exchange() -> list[tuple[dict[str, Any], dict[str, Any] | None]]:
    adapter = RefimplAdapter()
    requests: list[dict[str, Any]] = [
        protocol.start_message(),
        protocol.begin_message(BASIC),
        protocol.step_message(1, update(A)),
        protocol.step_message(2, {"type": "pick", "pick_id": 1}),
        protocol.step_message(3, {**state(A, "CONNECTING"), "subchannel": "sc-1"}),
        protocol.step_message(4, {**state(A, "READY"), "subchannel": "sc-1"}),
        protocol.step_message(5, {"type": "pick", "pick_id": 2}),
        protocol.step_message(6, {"type": "advance_time", "by": "1s"}),
        protocol.step_message(
            7, {"type": "subchannel_state", "subchannel": "sc-9", "state": "IDLE"}
        ),
        protocol.end_message(),
        protocol.stop_message(),
    ]
    return [(r, adapter.handle(r)) for r in requests]


@pytest.mark.req("CONF-9")
def test_every_message_of_a_session_matches_its_schema() -> None:
    replies = []
    for request, reply in exchange():
        assert schema_errors(f"protocol/{request['type']}", request) == []
        if reply is not None:
            assert schema_errors(f"protocol/{reply['type']}", reply) == [], reply
            replies.append(reply["type"])
    assert replies == ["started", "begun", *["outputs"] * 6, "error", "ended"]


@pytest.mark.req("CONF-2", "CONF-4")
def test_the_handshake_reads_back_what_the_adapter_declared() -> None:
    started = RefimplAdapter().handle(protocol.start_message())
    assert started is not None
    kind, body = protocol.read_reply(started)
    hello = protocol.read_started(body)
    assert kind == "started"
    assert hello.protocol == protocol.PROTOCOL_VERSION
    assert {"pick_first", "round_robin"} <= hello.capabilities.policies
    assert hello.capabilities.profiles == frozenset(Profile)
    declared = dict(hello.capabilities.spec_options)
    assert declared["pick_first.reresolution"] == "spec_text"
    assert set(declared) == set(options.OPTIONS)  # refimpl has a value for every option
    assert all(v in options.OPTIONS[k].values for k, v in declared.items())


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"capabilities": {"policies": [], "time": "sometimes"}}, "$.capabilities.time"),
        (
            {"capabilities": {"policies": [], "time": "real", "spec_options": {"x": "y"}}},
            "$.capabilities.spec_options.x",
        ),
        ({"implementation": {"name": "x", "vendor": "y"}}, "$.implementation.vendor"),
        (  # configurable, but no declared value to fall back on
            {"capabilities": {"policies": [], "time": "real", "configurable_options": {"a.b": []}}},
            "$.capabilities.configurable_options.a.b",
        ),
    ],
)
def test_a_bad_handshake_names_the_path(change: dict[str, Any], path: str) -> None:
    started = protocol.started_message(
        protocol.Implementation("x"), protocol.Capabilities(frozenset({"p"}))
    )
    started.update(change)
    with pytest.raises(WireError, match=rf"^{path.replace('$', '[$]')}: "):
        protocol.read_started(started)
    assert schema_errors("protocol/started", started) != []


CONFIGURABLE = "pick_first.selected_address_removed"


@pytest.mark.req("CONF-4")
@pytest.mark.parametrize("value", ["goes_idle", "reconnects"])
def test_a_configurable_option_is_set_per_case_and_judged_by_the_case_value(value: str) -> None:
    """PROTOCOL.md "Configurable options": the case's value reaches ``begin`` and the monitors."""
    caps = protocol.Capabilities(
        frozenset({"pick_first"}),
        spec_options=((CONFIGURABLE, "goes_idle"),),
        configurable_options=((CONFIGURABLE, ("goes_idle", "reconnects")),),
    )
    case = attrs.evolve(BASIC, policy="pick_first", spec_options=((CONFIGURABLE, value),))
    assert caps.missing_for(case) == []
    assert caps.options_for(case)[CONFIGURABLE] == value
    begin = protocol.begin_message(case, {CONFIGURABLE: value})
    assert begin["spec_options"] == {CONFIGURABLE: value}
    assert schema_errors("protocol/begin", begin) == []
    fixed = attrs.evolve(caps, configurable_options=())
    assert (fixed.missing_for(case) == []) == (value == "goes_idle")
    assert "spec_options" not in protocol.begin_message(case)  # older adapters never see it


@pytest.mark.req("CONF-4", "PF-10")
def test_the_reference_follows_the_value_begin_gives() -> None:
    """refimpl's pick_first reports IDLE (the spec text) or reconnects (grpc-go) as told."""
    first_outputs = {}
    for value in ("goes_idle", "reconnects"):
        adapter = RefimplAdapter()
        adapter.handle(protocol.start_message())
        case = attrs.evolve(BASIC, policy="pick_first", spec_options=((CONFIGURABLE, value),))
        assert adapter.handle(protocol.begin_message(case, {CONFIGURABLE: value})) == {
            "type": "begun"
        }
        adapter.handle(protocol.step_message(1, update(A)))
        adapter.handle(protocol.step_message(2, {**state(A, "CONNECTING"), "subchannel": "sc-1"}))
        adapter.handle(protocol.step_message(3, {**state(A, "READY"), "subchannel": "sc-1"}))
        reply = adapter.handle(protocol.step_message(4, update("10.0.0.9:80")))
        assert reply is not None
        first_outputs[value] = [o for o in reply["outputs"] if o["type"] == "update_state"]
    assert first_outputs["goes_idle"][0]["state"] == "IDLE"
    assert first_outputs["reconnects"][0]["state"] == "CONNECTING"


@pytest.mark.req("CONF-4")
def test_an_undeclared_selection_only_option_takes_the_registry_default() -> None:
    """pick_first.variant has no monitor parameter; an adapter silent on it is the default."""
    silent = protocol.Capabilities(frozenset({"pick_first"}))
    default = options.OPTIONS["pick_first.variant"].default
    other = next(v for v in options.OPTIONS["pick_first.variant"].values if v != default)
    written_for = attrs.evolve(BASIC, policy="pick_first")
    assert (
        silent.missing_for(
            attrs.evolve(written_for, spec_options=(("pick_first.variant", default),))
        )
        == []
    )
    assert (
        silent.missing_for(attrs.evolve(written_for, spec_options=(("pick_first.variant", other),)))
        != []
    )
