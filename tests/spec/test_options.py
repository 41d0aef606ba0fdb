"""The spec-option registry (spec/options.py; issue 14): every entry is usable and honest."""

from __future__ import annotations

import enum
import importlib
import inspect
import typing

import pytest

from spec import options
from spec.errors import ModelError

# policy -> the monitor module that judges it (as conformance/monitors.py maps them)
MONITORS = {
    "pick_first": ("spec.monitors.pick_first", "PickFirstMonitor"),
    "round_robin": ("spec.monitors.round_robin", "RoundRobinMonitor"),
    "weighted_round_robin": ("spec.monitors.weighted_round_robin", "WeightedRoundRobinMonitor"),
    "least_request_experimental": ("spec.monitors.least_request", "LeastRequestMonitor"),
    "service_config": ("spec.monitors.graceful_switch", "GracefulSwitchMonitor"),
}


@pytest.mark.req("CONF-4")
@pytest.mark.parametrize("option", options.OPTIONS_LIST, ids=lambda o: o.key)
def test_a_monitor_parameter_takes_exactly_the_registered_values(
    option: options.SpecOption,
) -> None:
    """A value an adapter may declare always reaches the monitor as a value it knows."""
    for policy in option.monitor_policies:
        assert option.monitor_parameter is not None
        module_name, class_name = MONITORS[policy]
        cls = getattr(importlib.import_module(module_name), class_name)
        assert option.monitor_parameter in inspect.signature(cls).parameters
        hint = typing.get_type_hints(cls.__init__)[option.monitor_parameter]
        assert issubclass(hint, enum.Enum)
        assert {m.value for m in hint} == set(option.values)
        default = inspect.signature(cls).parameters[option.monitor_parameter].default
        assert default.value == option.default  # the monitor's default is the registry's


@pytest.mark.req("CONF-4")
@pytest.mark.parametrize("option", options.OPTIONS_LIST, ids=lambda o: o.key)
def test_every_option_names_each_implementation_with_a_source(option: options.SpecOption) -> None:
    assert tuple(option.implementations) == options.IMPLEMENTATIONS
    for value in option.implementations.values():
        if value.value in option.values:
            assert value.source
    assert option.default_basis
    assert option.description.endswith(".")


def test_the_contract_keys_exist() -> None:
    """The keys and values the adapter helpers declare against (OPTIONS.md) are all here."""
    contract = {
        "pick_first.reresolution": {"spec_text", "grpc_go"},
        "pick_first.happy_eyeballs": {"enabled", "disabled"},
        "pick_first.resolver_error_with_addresses": {"keep_subchannels", "drop_subchannels"},
        "pick_first.family_interleaving": {"two_families", "three_families"},
        "pick_first.variant": {"leaf", "legacy_single_subchannel"},
        "round_robin.start_index": {"random_per_picker", "shared_counter"},
        "round_robin.idle_child": {"as_connecting", "as_idle"},
        "least_request_experimental.count_lifetime": {"while_ready", "grpc_go", "child_lifetime"},
        "weighted_round_robin.weight_caps": {"grpc_cpp", "grpc_java", "grpc_go"},
        "weighted_round_robin.weight_on_reconnect": {"reset_non_empty_since", "reset_all"},
        "service_config.unknown_policy_name": {"case_sensitive_skip", "lower_cased_invalid"},
    }
    for key, values in contract.items():
        assert values <= set(options.option(key).values), key


def test_unknown_keys_and_values_are_typed_errors() -> None:
    with pytest.raises(ModelError, match=r"no option 'pick_first\.colour'"):
        options.option("pick_first.colour")
    with pytest.raises(ModelError, match="'sometimes' is not one of enabled, disabled"):
        options.check_value("pick_first.happy_eyeballs", "sometimes")


def test_a_malformed_entry_is_refused() -> None:
    unchecked = dict.fromkeys(options.IMPLEMENTATIONS, options.NOT_CHECKED)
    with pytest.raises(ModelError, match="key must be"):
        options.SpecOption("nodot", ("a",), "d.", "b", unchecked)
    with pytest.raises(ModelError, match="needs a value"):
        options.SpecOption("x.y", ("a",), "d.", "b", {})
    bad = dict(unchecked, **{"grpc-go": options.ImplementationValue("z", "f.go:1")})
    with pytest.raises(ModelError, match="unknown value 'z'"):
        options.SpecOption("x.y", ("a",), "d.", "b", bad)


@pytest.mark.req("CONF-4")
def test_a_divergence_cites_its_source_and_no_value_is_left_unread() -> None:
    """DIVERGES is a reading, not a gap: it needs a source; NOT_CHECKED is gone (issue 14)."""
    unchecked = dict.fromkeys(options.IMPLEMENTATIONS, options.NOT_CHECKED)
    bare = dict(unchecked, **{"grpc-js": options.ImplementationValue(options.DIVERGES, "")})
    with pytest.raises(ModelError, match="grpc-js's value cites no source"):
        options.SpecOption("x.y", ("a",), "d.", "b", bare)
    removed = options.option("pick_first.selected_address_removed").implementations["grpc-js"]
    assert removed.value == options.DIVERGES
    assert "load-balancer-pick-first.ts" in removed.source
    unread = [
        (o.key, impl)
        for o in options.OPTIONS_LIST
        for impl, iv in o.implementations.items()
        if iv.value == options.NOT_CHECKED.value
    ]
    assert unread == []
