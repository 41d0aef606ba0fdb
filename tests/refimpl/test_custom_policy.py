"""The README's custom policy example, registered and driven end to end."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from refimpl import registry
from refimpl.driver import Driver
from refimpl.examples import custom_policy
from refimpl.service_config_channel import ServiceConfigChannelBuilder
from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.monitors.boundary import BoundaryMonitor
from spec.monitors.graceful_switch import GracefulSwitchMonitor
from spec.options import GracefulSwitchRule
from spec.trace import Step, judge
from spec.types import Endpoint, Status, StatusCode
from tests.refimpl.scripted_policy import registered

# The reference follows grpc-go's graceful switch (conformance/adapters/refimpl.py declares
# service_config.graceful_switch=grpc_go); the monitor's default is the text's rule.
REFERENCE_SWITCH = GracefulSwitchRule.GRPC_GO

ADDRESSES = ["10.0.0.3:80", "10.0.0.1:80", "10.0.0.2:80"]  # ids 1, 2, 3 in this order
UPDATE = ev.ResolverUpdate([Endpoint([a]) for a in ADDRESSES])


@pytest.fixture(autouse=True)
def _example_registered() -> Iterator[None]:
    with registered(custom_policy.builder()):
        yield


def _run(driver: Driver, events: list[ev.Input]) -> list[Step]:
    return [Step(e, driver.step(e)) for e in events]


def _connect_all() -> list[ev.Input]:
    return [
        ev.SubchannelStateChange(sc, state)
        for sc in (1, 2, 3)
        for state in (State.CONNECTING, State.READY)
    ]


@pytest.mark.req("BASE-1", "BASE-6")
def test_example_policy_round_robins_in_address_order() -> None:
    custom_policy.register()  # what an application does; the fixture restores the registry
    assert registry.get(custom_policy.NAME) is not None
    driver = Driver(custom_policy.NAME)
    trace = _run(driver, [UPDATE, *_connect_all()])
    assert trace[0].outputs[-1] == act.UpdateState(State.CONNECTING)
    picks = _run(driver, [ev.Pick(i) for i in range(1, 7)])
    # 10.0.0.1 (id 2), 10.0.0.2 (id 3), 10.0.0.3 (id 1), and around again.
    assert [s.outputs for s in picks] == [
        (act.PickComplete(i, sc),) for i, sc in zip(range(1, 7), [2, 3, 1, 2, 3, 1], strict=True)
    ]
    trace += picks
    trace += _run(driver, [ev.SubchannelStateChange(2, State.IDLE), ev.Pick(7), ev.Close()])
    assert trace[-2].outputs == (act.PickComplete(7, 3),)  # 10.0.0.1 left the rotation
    assert judge(BoundaryMonitor, trace) == []


@pytest.mark.req("BASE-7")
def test_example_policy_fails_picks_when_every_address_fails() -> None:
    driver = Driver(custom_policy.NAME)
    driver.step(UPDATE)
    error = Status(StatusCode.UNAVAILABLE, "connection refused")
    for sc in (1, 2, 3):
        driver.step(ev.SubchannelStateChange(sc, State.CONNECTING))
        driver.step(ev.SubchannelStateChange(sc, State.TRANSIENT_FAILURE, error))
    assert driver.state is State.TRANSIENT_FAILURE
    assert driver.step(ev.Pick(1)) == (
        act.PickFail(
            1, Status(StatusCode.UNAVAILABLE, "last connection error: connection refused")
        ),
    )


@pytest.mark.req("SC-1")
def test_example_policy_selected_by_a_service_config() -> None:
    driver = Driver(ServiceConfigChannelBuilder())
    config = '{"loadBalancingConfig": [{"not_installed": {}}, {"example_ordered_round_robin": {}}]}'
    update = ev.ResolverUpdate(UPDATE.endpoints, config=config)
    trace = _run(driver, [update, *_connect_all(), ev.Pick(1), ev.Close()])
    assert trace[-2].outputs == (act.PickComplete(1, 2),)
    assert judge(BoundaryMonitor, trace) == []
    assert (
        judge(
            lambda: GracefulSwitchMonitor([custom_policy.NAME], swap_rule=REFERENCE_SWITCH), trace
        )
        == []
    )
