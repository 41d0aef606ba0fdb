"""SC-14, SC-10, PF-1 under service_config.resolver_error_before_config (spec/options.py)."""

from __future__ import annotations

import pytest

from refimpl.driver import Driver
from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.monitors.pick_first import PickFirstMonitor
from spec.options import ResolverErrorBeforeConfig, option
from spec.trace import Step, judge
from tests.refimpl.test_pick_first import A1, update

NO_CONFIG = ResolverErrorBeforeConfig.NO_CONFIG
DEFAULT_CONFIG = ResolverErrorBeforeConfig.DEFAULT_CONFIG


def _trace(value: ResolverErrorBeforeConfig) -> list[Step]:
    """A resolver error, then an update whose config is invalid, as the driver's channel
    plays it under ``value``."""
    driver = Driver("pick_first", resolver_error_before_config=value)
    invalid = update(A1, config={"shuffleAddressList": "yes"})
    inputs: list[ev.Input] = [ev.ResolverError("name resolution failed"), invalid]
    return [Step(i, list(driver.step(i))) for i in inputs]


def _found(trace: list[Step], value: ResolverErrorBeforeConfig) -> list[str]:
    def monitor() -> PickFirstMonitor:
        return PickFirstMonitor(resolver_error_before_config=value)

    return [v.requirement for v in judge(monitor, trace)]


@pytest.mark.req("SC-14", "SC-10", "PF-1")
def test_no_config_fails_the_channel_after_a_resolver_error() -> None:
    """The text's value: the error puts no config in force, so the invalid config is a first
    one: TRANSIENT_FAILURE, rejected, the addresses never reach the policy."""
    trace = _trace(NO_CONFIG)
    outputs = trace[1].outputs
    assert outputs[0] == act.UpdateState(State.TRANSIENT_FAILURE)
    assert [type(o) for o in outputs] == [act.UpdateState, act.UpdateRejected]
    assert _found(trace, NO_CONFIG) == []
    assert "PF-3" in _found(trace, DEFAULT_CONFIG)  # grpc-go's channel would start a pass


@pytest.mark.req("SC-14", "SC-11", "PF-1")
def test_default_config_lets_the_addresses_reach_the_policy() -> None:
    """grpc-go's value: the default config is in force, so the policy gets the addresses and
    only the config is rejected."""
    trace = _trace(DEFAULT_CONFIG)
    outputs = trace[1].outputs
    assert act.UpdateState(State.CONNECTING) in outputs
    assert any(isinstance(o, act.NewSubchannel) for o in outputs)
    assert isinstance(outputs[-1], act.UpdateRejected)
    assert _found(trace, DEFAULT_CONFIG) == []
    assert "PF-1" in _found(trace, NO_CONFIG)  # the policy got what it must not see


@pytest.mark.req("CONF-4")
def test_the_default_is_the_texts_and_each_implementation_is_read() -> None:
    opt = option("service_config.resolver_error_before_config")
    assert opt.default == "no_config"
    # A monitor built without the option judges by the text's value, no_config.
    assert [v.requirement for v in judge(PickFirstMonitor, _trace(NO_CONFIG))] == []
    assert "PF-1" in [v.requirement for v in judge(PickFirstMonitor, _trace(DEFAULT_CONFIG))]
    values = {impl: iv.value for impl, iv in opt.implementations.items()}
    assert values == {
        "grpc-go": "default_config",
        "grpc-java": "no_config",
        "C-core": "no_config",
        "grpc-js": "no_config",
    }
    assert opt.monitor_policies == ("pick_first", "service_config")
