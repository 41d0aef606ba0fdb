"""The case loader and the protocol's JSON reader under extreme input (issue 16): huge
numbers, NaN/Infinity and deep nesting give a typed error naming where, never a crash."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from conformance import wire
from conformance.cases import Case, load_case
from conformance.errors import ConformanceError, WireError
from tests.conformance.helpers import TEST_CASES

BASIC = json.loads((TEST_CASES / "selftest" / "selftest-basic.json").read_text())

_EXTREME = st.sampled_from(
    [
        "1e400",
        "-1e400",
        "NaN",
        "Infinity",
        "-Infinity",
        "1" + "0" * 400,
        "1" * 5000,
        "[" * 5000 + "]" * 5000,
        "[" * (wire.MAX_JSON_DEPTH + 1) + "]" * (wire.MAX_JSON_DEPTH + 1),
        "[" * 100_000,
    ]
)
_ORDINARY = st.sampled_from(["0", "1", "-1", "0.5", "1e300", '"x"', "null", "true", "[]", "{}"])
_MARK = '"__EXTREME__"'


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path in the basic case where a value sits."""
    found = [path]
    if isinstance(value, dict):
        for key, item in value.items():
            found.extend(_places(item, (*path, key)))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found.extend(_places(item, (*path, index)))
    return found


_PLACES = [p for p in _places(BASIC) if p]


def _with(path: tuple[Any, ...]) -> Any:
    """The basic case with the value at ``path`` replaced by the marker."""
    data = json.loads(json.dumps(BASIC))
    parent = data
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = json.loads(_MARK)
    return data


@pytest.mark.req("CONF-9")
@given(st.sampled_from(_PLACES), st.one_of(_EXTREME, _ORDINARY))
def test_a_case_file_with_any_value_anywhere_loads_or_names_file_and_path(
    tmp_path_factory: pytest.TempPathFactory, place: tuple[Any, ...], token: str
) -> None:
    path = tmp_path_factory.mktemp("case") / "selftest-basic.json"
    path.write_text(json.dumps(_with(place), indent=1).replace(_MARK, token, 1))
    outcome: Case | ConformanceError
    try:
        outcome = load_case(path)
    except ConformanceError as err:  # any other exception fails the test
        outcome = err
    if isinstance(outcome, ConformanceError):
        assert str(outcome).startswith(str(path))
        assert "\n" not in str(outcome)
    if token in ("1e400", "NaN", "Infinity", "1" * 5000):
        assert isinstance(outcome, WireError)


@pytest.mark.req("CONF-9")
@given(
    st.recursive(_EXTREME | _ORDINARY, lambda inner: inner.map(lambda t: f"[{t}]"), max_leaves=5)
)
def test_protocol_json_with_extreme_values_is_parsed_or_refused_as_wire_error(text: str) -> None:
    outcome: Any
    try:
        outcome = wire.parse_json('{"type": "outputs", "x": ' + text + "}")
    except WireError as err:  # any other exception fails the test
        outcome = err
    if isinstance(outcome, WireError):
        assert outcome.problem
    else:
        wire.check_json_value(outcome)  # what parse_json returns passes the full check


@pytest.mark.req("CONF-9")
def test_the_refimpl_adapter_refuses_an_out_of_range_number_instead_of_crashing(
    tmp_path: Path,
) -> None:
    import subprocess
    import sys

    lines = '{"type":"start","protocol":1}\n{"type":"begin","case":"x","x":1e400}\n'
    done = subprocess.run(
        [sys.executable, "-m", "conformance.adapters.refimpl"],
        input=lines,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    replies = [json.loads(line) for line in done.stdout.splitlines()]
    assert replies[1]["type"] == "error"
    assert "$.x: the number 1e400 is out of range" in replies[1]["message"]
    assert "Traceback" not in done.stderr
