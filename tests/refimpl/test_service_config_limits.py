"""Service configs no JSON reader of an implementation takes: typed errors, never a crash.

Issue 16: a 10^400 or 5000-digit integer, 1e400, NaN/Infinity, or nesting 5000 deep
ended in OverflowError, ValueError or RecursionError.  Each is now a
ServiceConfigError naming where (SC-9).
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl import registry
from refimpl.service_config import (
    MAX_NESTING,
    ServiceConfig,
    ServiceConfigError,
    ServiceConfigSyntaxError,
    parse_service_config,
)

PENALTY = "loadBalancingConfig[0].weighted_round_robin.errorUtilizationPenalty"


def _wrr(value_text: str) -> str:
    return (
        '{"loadBalancingConfig": [{"weighted_round_robin": '
        f'{{"errorUtilizationPenalty": {value_text}}}}}]}}'
    )


def _nested(depth: int) -> Any:
    value: Any = []
    for _ in range(depth - 1):
        value = [value]
    return value


@pytest.mark.req("SC-9")
@pytest.mark.parametrize(
    ("value_text", "problem"),
    [
        ("1e400", "the number 1e400 is out of range"),
        ("-1e400", "the number -1e400 is out of range"),
        ("1" + "0" * 400, "is out of range"),  # 10^400
        ("1" * 5000, "(5000 digits) is out of range"),
    ],
)
def test_a_number_no_double_holds_is_a_typed_error_at_its_path(
    value_text: str, problem: str
) -> None:
    with pytest.raises(ServiceConfigError) as caught:
        parse_service_config(_wrr(value_text))
    assert caught.value.path == PENALTY
    assert problem in caught.value.problem


@pytest.mark.req("SC-9")
@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_nan_and_infinity_are_syntax_errors_with_line_and_column(constant: str) -> None:
    with pytest.raises(ServiceConfigSyntaxError) as caught:
        parse_service_config(_wrr(constant))
    assert caught.value.line == 1
    assert caught.value.column == _wrr(constant).index(constant) + 1


@pytest.mark.req("SC-9")
@pytest.mark.parametrize("value", [10**400, float("inf"), float("nan")])
def test_already_parsed_out_of_range_numbers_are_typed_errors(value: object) -> None:
    document = {
        "loadBalancingConfig": [{"weighted_round_robin": {"errorUtilizationPenalty": value}}]
    }
    with pytest.raises(ServiceConfigError) as caught:
        parse_service_config(document)
    assert caught.value.path == PENALTY


@pytest.mark.req("SC-9")
def test_nesting_5000_deep_is_a_typed_error_as_text_and_as_data() -> None:
    text = '{"x": ' + "[" * 5000 + "]" * 5000 + "}"
    with pytest.raises(ServiceConfigError, match=f"nested deeper than {MAX_NESTING} levels"):
        parse_service_config(text)
    with pytest.raises(ServiceConfigError, match=f"nested deeper than {MAX_NESTING} levels"):
        parse_service_config({"x": _nested(5000)})
    # As deep as allowed is fine (the limit is not off by one).
    parse_service_config({"x": _nested(MAX_NESTING - 1)})


# Every scalar an implementation's JSON reader may meet, extreme ones included, as text.
_SCALARS = st.one_of(
    st.sampled_from(
        [
            "1e400",
            "-1e400",
            "1e-400",
            "NaN",
            "Infinity",
            "-Infinity",
            "1" + "0" * 400,
            "1" * 5000,
            "0",
            "-1",
            "0.5",
            "4294967296",
            "true",
            "null",
            '"10s"',
            '"1e400s"',
            '"99999999999999999999s"',
            '"-1s"',
        ]
    ),
    st.integers().map(str),
    st.floats().map(lambda f: repr(f) if f == f and abs(f) != float("inf") else "NaN"),
)
_FIELDS = [
    "errorUtilizationPenalty",
    "blackoutPeriod",
    "weightExpirationPeriod",
    "weightUpdatePeriod",
    "oobReportingPeriod",
    "enableOobLoadReport",
    "choiceCount",
    "shuffleAddressList",
]


@st.composite
def _configs(draw: st.DrawFn) -> str:
    """A service config text: a real policy, real field names, extreme values, deep lists."""
    policy = draw(st.sampled_from(sorted(registry.names())))
    fields = draw(st.dictionaries(st.sampled_from(_FIELDS), _SCALARS, max_size=4))
    depth = draw(st.sampled_from([0, 1, MAX_NESTING - 3, MAX_NESTING + 1, 5000]))
    body = ", ".join(f'"{k}": {v}' for k, v in fields.items())
    if depth:
        body += (", " if body else "") + '"deep": ' + "[" * depth + "]" * depth
    return f'{{"loadBalancingConfig": [{{"{policy}": {{{body}}}}}]}}'


@pytest.mark.req("SC-9")
@given(_configs())
def test_any_config_with_extreme_values_parses_or_raises_a_typed_error(text: str) -> None:
    outcome: ServiceConfig | ServiceConfigError
    try:
        outcome = parse_service_config(text)
    except ServiceConfigError as err:  # anything else (OverflowError...) fails the test
        outcome = err
    if isinstance(outcome, ServiceConfigError):
        assert outcome.problem
        assert "\n" not in str(outcome)
    else:
        assert isinstance(outcome, ServiceConfig)
