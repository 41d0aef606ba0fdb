"""Choosing the LB policy from a service config (grpc-go service_config.go, gracefulswitch).

Scripted tests restate grpc-go's TestParseLBConfig, TestParseNoLBConfigSupported,
TestParseLoadBalancer and TestBalancerConfigUnmarshalJSON; the property tests check the
selection rule against a plain reading of it over random lists of entries.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from refimpl import registry
from refimpl.balancer import Builder
from refimpl.service_config import (
    DEFAULT_POLICY,
    NoSupportedPolicyError,
    PolicyConfigError,
    SelectionSource,
    ServiceConfig,
    ServiceConfigError,
    ServiceConfigSyntaxError,
    join_path,
    parse_load_balancing_config,
    parse_service_config,
)
from tests.refimpl.scripted_policy import (
    ParsingBuilder,
    ScriptedBuilder,
    ScriptedConfig,
    registered,
)

PARSER = ParsingBuilder("test_sc_parser")  # config {"value": int}
PLAIN = ScriptedBuilder("test_sc_plain")  # no config parser
DEFAULT_STUB = ScriptedBuilder(DEFAULT_POLICY)  # stands in for pick_first; never built here


@pytest.fixture(autouse=True)
def _policies() -> Iterator[None]:
    with registered(PARSER, PLAIN, DEFAULT_STUB):
        yield


def _lbc(*entries: Any) -> dict[str, Any]:
    return {"loadBalancingConfig": list(entries)}


# --- grpc-go service_config_test.go ---


@pytest.mark.req("SC-1")
def test_parse_lb_config() -> None:
    """TestParseLBConfig: the policy's own parser gets its JSON and its result is kept."""
    text = '{"loadBalancingConfig": [{"test_sc_parser": {"value": 7, "unknown": "ignored"}}]}'
    sc = parse_service_config(text)
    assert sc.lb_policy.name == "test_sc_parser"
    assert sc.lb_policy.builder is PARSER
    assert sc.lb_policy.config == ScriptedConfig(7)
    assert sc.lb_policy.source is SelectionSource.LOAD_BALANCING_CONFIG
    assert sc.lb_policy.index == 0


@pytest.mark.req("SC-5")
@pytest.mark.parametrize(
    "document",
    [_lbc({"not_a_balancer1": {}}, {"not_a_balancer2": {}}), _lbc()],
    ids=["two-unknown-names", "empty-list"],
)
def test_parse_no_lb_config_supported(document: dict[str, Any]) -> None:
    """TestParseNoLBConfigSupported: no registered name, or an empty list, is invalid."""
    with pytest.raises(NoSupportedPolicyError) as caught:
        parse_service_config(document)
    assert caught.value.path == "loadBalancingConfig"
    names = [next(iter(e)) for e in document["loadBalancingConfig"]]
    assert caught.value.names == tuple(names)
    for name in names:
        assert name in str(caught.value)


@pytest.mark.req("SC-6", "SC-13")
def test_parse_load_balancer() -> None:
    """TestParseLoadBalancer: a registered loadBalancingPolicy is used; a number is invalid."""
    chosen = parse_service_config({"loadBalancingPolicy": "test_sc_plain", "methodConfig": []})
    assert chosen.lb_policy.name == "test_sc_plain"
    assert chosen.lb_policy.source is SelectionSource.LOAD_BALANCING_POLICY
    with pytest.raises(ServiceConfigError) as caught:
        parse_service_config({"loadBalancingPolicy": 1})
    assert caught.value.path == "loadBalancingPolicy"
    assert "policy name" in caught.value.problem


# --- grpc-go internal/serviceconfig/serviceconfig_test.go, TestBalancerConfigUnmarshalJSON ---


@pytest.mark.req("SC-9")
def test_balancer_config_unmarshal_json_empty_json() -> None:
    with pytest.raises(ServiceConfigSyntaxError) as caught:
        parse_service_config("")
    assert (caught.value.line, caught.value.column) == (1, 1)


@pytest.mark.req("SC-3")
def test_balancer_config_unmarshal_json_more_than_one_entry_for_a_map() -> None:
    with pytest.raises(ServiceConfigError) as caught:
        parse_load_balancing_config([{"balancer1": "1", "balancer2": "2"}])
    assert caught.value.path == "loadBalancingConfig[0]"
    assert "exactly one key" in caught.value.problem
    assert "balancer1" in caught.value.problem


@pytest.mark.req("SC-5")
def test_balancer_config_unmarshal_json_no_balancer_registered() -> None:
    with pytest.raises(NoSupportedPolicyError, match=r"\['balancer1', 'balancer2'\]"):
        parse_load_balancing_config([{"balancer1": "1"}, {"balancer2": "2"}])


@pytest.mark.req("SC-1")
def test_balancer_config_unmarshal_json_ok() -> None:
    selection = parse_load_balancing_config([{"test_sc_parser": {"value": 1}}])
    assert (selection.name, selection.config, selection.index) == (
        "test_sc_parser",
        ScriptedConfig(1),
        0,
    )


@pytest.mark.req("SC-1")
def test_balancer_config_unmarshal_json_first_balancer_not_registered() -> None:
    selection = parse_load_balancing_config([{"balancer1": "1"}, {"test_sc_parser": {}}])
    assert (selection.name, selection.index) == ("test_sc_parser", 1)
    assert PARSER.parsed[-1] == {}


@pytest.mark.req("SC-1")
def test_balancer_config_unmarshal_json_registered_but_builder_not_parser() -> None:
    selection = parse_load_balancing_config([{"test_sc_plain": {"check": True}}])
    assert selection.name == "test_sc_plain"
    assert selection.config is None  # no parser: the value is not interpreted


# --- The rest of the selection rules ---


@pytest.mark.req("SC-2")
def test_entries_after_the_selected_one_are_not_examined() -> None:
    later = ParsingBuilder("test_sc_later")
    document = _lbc(
        {"test_sc_plain": {}}, "not an object", {"a": {}, "b": {}}, {"test_sc_later": 5}
    )
    with registered(later):
        assert parse_service_config(document).lb_policy.name == "test_sc_plain"
    assert later.parsed == []  # its parser never ran, so its bad config went unnoticed


@pytest.mark.req("SC-3", "SC-9")
@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("round_robin", "got a string"),
        (None, "got null"),
        ([{"x": {}}], "got a list"),
        ({}, "got 0"),
        ({"x": {}, "y": {}}, "got 2"),
    ],
)
def test_malformed_entry_before_the_winner_names_its_index(entry: Any, problem: str) -> None:
    with pytest.raises(ServiceConfigError) as caught:
        parse_service_config(_lbc({"unknown": {}}, entry, {"test_sc_plain": {}}))
    assert caught.value.path == "loadBalancingConfig[1]"
    assert problem in caught.value.problem


@pytest.mark.req("SC-4", "SC-9")
def test_selected_policys_config_error_invalidates_the_whole_config() -> None:
    document = _lbc({"nope": {}}, {"test_sc_parser": {"value": "seven"}}, {"test_sc_plain": {}})
    with pytest.raises(PolicyConfigError) as caught:
        parse_service_config(json.dumps(document, indent=2))
    # The later, perfectly good entry is not used as a fallback.
    assert caught.value.path == "loadBalancingConfig[1].test_sc_parser.value"
    assert caught.value.policy == "test_sc_parser"
    assert "must be an integer" in str(caught.value)


@pytest.mark.req("SC-9")
def test_error_paths_quote_odd_policy_names() -> None:
    odd = ParsingBuilder("test.sc odd")
    with registered(odd), pytest.raises(PolicyConfigError) as caught:
        parse_service_config(_lbc({"test.sc odd": []}))
    assert caught.value.path == 'loadBalancingConfig[0]["test.sc odd"]'
    assert join_path("a", "b") == "a.b"
    assert join_path("", "b") == "b"
    assert join_path("a", 2) == "a[2]"


@pytest.mark.req("SC-6")
def test_load_balancing_config_wins_over_load_balancing_policy() -> None:
    document = {"loadBalancingPolicy": "test_sc_plain", **_lbc({"test_sc_parser": {}})}
    assert parse_service_config(document).lb_policy.name == "test_sc_parser"
    # An invalid loadBalancingConfig does not fall back to loadBalancingPolicy.
    with pytest.raises(NoSupportedPolicyError):
        parse_service_config({"loadBalancingPolicy": "test_sc_plain", **_lbc({"nope": {}})})


@pytest.mark.req("SC-6")
def test_unknown_load_balancing_policy_falls_back_to_pick_first() -> None:
    sc = parse_service_config({"loadBalancingPolicy": "no_such_policy"})
    assert sc.lb_policy.name == "pick_first"
    assert sc.lb_policy.source is SelectionSource.DEFAULT


@pytest.mark.req("SC-6")
def test_load_balancing_policy_runs_the_parser_on_an_empty_object() -> None:
    sc = parse_service_config({"loadBalancingPolicy": "test_sc_parser"})
    assert sc.lb_policy.config == ScriptedConfig(0)
    assert PARSER.parsed[-1] == {}


@pytest.mark.req("SC-7")
@pytest.mark.parametrize(
    "document",
    ["{}", {"methodConfig": []}, {"loadBalancingConfig": None, "loadBalancingPolicy": None}],
    ids=["empty", "other-fields", "nulls"],
)
def test_no_lb_field_selects_pick_first(document: Any) -> None:
    sc = parse_service_config(document)
    assert sc.lb_policy.name == "pick_first"
    assert sc.lb_policy.source is SelectionSource.DEFAULT
    assert sc.lb_policy.index is None


@pytest.mark.req("SC-7")
def test_default_policy_must_be_registered() -> None:
    with registered(ScriptedBuilder(DEFAULT_POLICY)):
        registry.unregister_for_testing(DEFAULT_POLICY)
        with pytest.raises(NoSupportedPolicyError, match="pick_first"):
            parse_service_config({})


@pytest.mark.req("SC-8")
@pytest.mark.parametrize(
    ("document", "service_name", "configured"),
    [
        ({}, None, False),
        ({"healthCheckConfig": None}, None, False),
        ({"healthCheckConfig": {}}, None, True),
        ({"healthCheckConfig": {"serviceName": ""}}, "", True),
        ({"healthCheckConfig": {"serviceName": "grpc.health.v1.Foo"}}, "grpc.health.v1.Foo", True),
    ],
)
def test_health_check_service_name(
    document: dict[str, Any], service_name: str | None, configured: bool
) -> None:
    sc = parse_service_config(document)
    assert sc.health_check_service_name == service_name
    assert (sc.health_check is not None) == configured


@pytest.mark.req("SC-8", "SC-13")
@pytest.mark.parametrize(
    ("document", "path"),
    [
        ({"healthCheckConfig": {"serviceName": 3}}, "healthCheckConfig.serviceName"),
        ({"healthCheckConfig": "foo"}, "healthCheckConfig"),
    ],
)
def test_health_check_config_of_the_wrong_type_is_invalid(
    document: dict[str, Any], path: str
) -> None:
    with pytest.raises(ServiceConfigError) as caught:
        parse_service_config(document)
    assert caught.value.path == path


@pytest.mark.req("SC-13")
@pytest.mark.parametrize(
    ("document", "path"),
    [
        ("[]", ""),
        ("null", ""),
        ({"loadBalancingConfig": {"test_sc_plain": {}}}, "loadBalancingConfig"),
        ({"loadBalancingConfig": "test_sc_plain"}, "loadBalancingConfig"),
    ],
)
def test_wrongly_typed_fields_are_invalid(document: Any, path: str) -> None:
    with pytest.raises(ServiceConfigError) as caught:
        parse_service_config(document)
    assert caught.value.path == path


@pytest.mark.req("SC-9")
@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ('{\n  "loadBalancingConfig": [\n}', 3, 1),
        ("bad json service config", 1, 1),
        ('{"a": NaN}', 1, 7),
        ('{"x": "NaN \\" Infinity",\n  "b": [1, -Infinity]}', 2, 12),
    ],
)
def test_bad_json_text_names_line_and_column(text: str, line: int, column: int) -> None:
    with pytest.raises(ServiceConfigSyntaxError) as caught:
        parse_service_config(text)
    assert (caught.value.line, caught.value.column) == (line, column)
    assert f"line {line} column {column}" in str(caught.value)


@pytest.mark.req("SC-9")
def test_parsed_input_must_be_plain_json() -> None:
    with pytest.raises(ServiceConfigError) as caught:
        parse_service_config({"loadBalancingConfig": [{"test_sc_plain": {1, 2}}]})
    assert caught.value.path == "loadBalancingConfig[0].test_sc_plain"
    with pytest.raises(ServiceConfigError, match="not a JSON number"):
        parse_service_config({"x": float("inf")})


# --- Property tests ---

_REGISTERED = {"reg_a": ScriptedBuilder("reg_a"), "reg_b": ParsingBuilder("reg_b")}
_FAILING = ParsingBuilder("reg_fails")  # registered; its config below is always invalid
_LOOKUP: dict[str, Builder] = {**_REGISTERED, "reg_fails": _FAILING}

_GOOD_ENTRY: st.SearchStrategy[Any] = st.sampled_from(
    ["reg_a", "reg_b", "unreg_x", "unreg_y", "Reg_A"]
).map(lambda name: {name: {}})
_FAILING_ENTRY: st.SearchStrategy[Any] = st.just({"reg_fails": {"value": "not an int"}})
_BAD_ENTRY: st.SearchStrategy[Any] = st.one_of(
    st.just({}),
    st.just({"reg_a": {}, "reg_b": {}}),
    st.sampled_from(["reg_a", 1, None, []]),
)
_ENTRIES = st.lists(
    st.one_of(_GOOD_ENTRY, _GOOD_ENTRY, _GOOD_ENTRY, _BAD_ENTRY, _FAILING_ENTRY), max_size=8
)


def _expected(entries: list[Any]) -> tuple[str, int | str]:
    """The selection rule read plainly: ("ok", index) or ("error", path)."""
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or len(entry) != 1:
            return ("error", f"loadBalancingConfig[{index}]")
        (name,) = entry
        if name == "reg_fails":
            return ("error", f"loadBalancingConfig[{index}].reg_fails.value")
        if name in _LOOKUP:
            return ("ok", index)
    return ("error", "loadBalancingConfig")


def _outcome(document: Any) -> ServiceConfig | ServiceConfigError:
    """The parse result, or the typed error it raised (any other exception escapes)."""
    try:
        return parse_service_config(document, lookup=_LOOKUP.get)
    except ServiceConfigError as err:
        return err


@pytest.mark.req("SC-1", "SC-2", "SC-3", "SC-4", "SC-5", "SC-9")
@given(_ENTRIES)
def test_first_registered_entry_wins_and_errors_carry_a_path(entries: list[Any]) -> None:
    kind, where = _expected(entries)
    outcome = _outcome({"loadBalancingConfig": entries})
    if isinstance(outcome, ServiceConfigError):
        assert (kind, where) == ("error", outcome.path)
        assert outcome.path.startswith("loadBalancingConfig")
        assert str(outcome).startswith(outcome.path + ": ")
    else:
        assert kind == "ok"
        selection = outcome.lb_policy
        assert selection.index == where
        assert selection.index is not None
        assert selection.name == next(iter(entries[selection.index]))
        assert selection.builder is _LOOKUP[selection.name]


_KEYS = ["loadBalancingConfig", "loadBalancingPolicy", "healthCheckConfig", "serviceName"]
_JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.sampled_from([*_KEYS, *_LOOKUP]), children, max_size=3)
    ),
    max_leaves=12,
)


@pytest.mark.req("SC-9", "SC-13")
@given(_JSON)
def test_any_json_gives_a_config_or_a_typed_error(document: Any) -> None:
    # A str argument is JSON *text*, so a parsed top-level string is not compared below.
    assume(not isinstance(document, str))
    outcome = _outcome(document)
    from_text = _outcome(json.dumps(document))  # the text form behaves the same
    if isinstance(outcome, ServiceConfigError):
        assert outcome.problem
        assert isinstance(from_text, ServiceConfigError)
        assert from_text.path == outcome.path
    else:
        assert isinstance(from_text, ServiceConfig)
        assert from_text.lb_policy == outcome.lb_policy
        assert from_text.health_check == outcome.health_check


@pytest.mark.req("SC-9")
@given(st.text(max_size=30))
def test_any_text_gives_a_config_or_a_typed_error(text: str) -> None:
    outcome = _outcome(text)
    if isinstance(outcome, ServiceConfigSyntaxError):
        assert outcome.line >= 1
        assert outcome.column >= 1
    elif isinstance(outcome, ServiceConfigError):
        assert outcome.problem
    else:
        assert isinstance(outcome, ServiceConfig)
