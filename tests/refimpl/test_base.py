"""The base balancer (grpc-go balancer/base), driven through the sans-IO driver."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from refimpl.balancer import (
    Complete,
    Picker,
    PickInfo,
    PickResult,
    QueuePicker,
    SubConn,
)
from refimpl.base import BaseBuilder, BaseConfig, PickerBuilder, PickerBuildInfo
from refimpl.driver import Driver
from spec import actions as act
from spec import events as ev
from spec.connectivity import State, aggregate
from spec.monitors.boundary import BoundaryMonitor
from spec.trace import Step, judge
from spec.types import Address, Endpoint, Status, StatusCode

A, B, C = "10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"


def _err(text: str) -> Status:
    return Status(StatusCode.UNAVAILABLE, text)


class _FirstReady(Picker):
    def __init__(self, subconn: SubConn) -> None:
        self.subconn = subconn

    def pick(self, info: PickInfo) -> PickResult:
        return Complete(self.subconn)


class RecordingPickerBuilder(PickerBuilder):
    """Keeps every PickerBuildInfo; picks the first READY SubConn in address order."""

    def __init__(self) -> None:
        self.infos: list[PickerBuildInfo] = []

    def build(self, info: PickerBuildInfo) -> Picker:
        self.infos.append(info)
        if not info.ready:
            return QueuePicker()
        return _FirstReady(min(info.ready, key=lambda sc: info.ready[sc].address.addr))

    def ready_addresses(self) -> list[str]:
        return sorted(i.address.addr for i in self.infos[-1].ready.values())


def _driver(**kwargs: object) -> tuple[Driver, RecordingPickerBuilder]:
    pickers = RecordingPickerBuilder()
    health = bool(kwargs.pop("health_check", False))
    builder = BaseBuilder("test_base", pickers, BaseConfig(health_check=health))
    return Driver(builder, **kwargs), pickers  # type: ignore[arg-type]


def _update(*addresses: str | Address) -> ev.ResolverUpdate:
    return ev.ResolverUpdate([Endpoint([a]) for a in addresses])


def _ready(driver: Driver, *subchannels: int) -> None:
    for sc in subchannels:
        driver.step(ev.SubchannelStateChange(sc, State.CONNECTING))
        driver.step(ev.SubchannelStateChange(sc, State.READY))


def _fail(driver: Driver, sc: int, text: str) -> tuple[act.Output, ...]:
    driver.step(ev.SubchannelStateChange(sc, State.CONNECTING))
    return driver.step(ev.SubchannelStateChange(sc, State.TRANSIENT_FAILURE, _err(text)))


@pytest.mark.req("BASE-9")
def test_base_balancer_reserve_attributes() -> None:
    """grpc-go TestBaseBalancerReserveAttributes: the picker builder sees address attributes."""
    driver, pickers = _driver()
    driver.step(_update(Address("1.1.1.1:80", attributes={"foo": "2233niang"}), "2.2.2.2:80"))
    assert pickers.infos[-1].ready == {}
    _ready(driver, 1, 2)
    infos = {i.address.addr: i.address for i in pickers.infos[-1].ready.values()}
    assert infos["1.1.1.1:80"].attributes == (("foo", "2233niang"),)
    assert infos["2.2.2.2:80"].attributes == ()


@pytest.mark.req("BASE-1")
def test_one_subconn_per_distinct_address_connected_at_once() -> None:
    driver, _ = _driver()
    same_a = Address(A, balancer_attributes={"weight": 3})  # not part of address identity
    update = ev.ResolverUpdate([Endpoint([A, B]), Endpoint([same_a, C])])
    assert driver.step(update) == (
        act.NewSubchannel(1, [A]),
        act.Connect(1),
        act.NewSubchannel(2, [B]),
        act.Connect(2),
        act.NewSubchannel(3, [C]),
        act.Connect(3),
        act.UpdateState(State.CONNECTING),
    )
    assert driver.step(_update(C, B, A)) == (act.UpdateState(State.CONNECTING),)


@pytest.mark.req("BASE-2", "BASE-6")
def test_removed_address_is_shut_down_and_stops_counting() -> None:
    driver, pickers = _driver()
    driver.step(_update(A, B))
    _ready(driver, 1)
    driver.step(ev.SubchannelStateChange(2, State.CONNECTING))
    # grpc-go: the update reports the state it had (READY) with a picker that already
    # leaves A out; forgetting A (its SHUTDOWN) then makes the aggregate CONNECTING.
    assert driver.step(_update(B)) == (
        act.Shutdown(1),
        act.UpdateState(State.READY),
        act.UpdateState(State.CONNECTING),
    )
    assert pickers.ready_addresses() == []
    assert driver.step(ev.Pick(1)) == (act.PickQueue(1),)


@pytest.mark.req("BASE-3", "BASE-7")
def test_zero_addresses_are_rejected_as_a_resolver_error() -> None:
    driver, _ = _driver()
    assert driver.step(_update()) == (
        act.UpdateState(State.TRANSIENT_FAILURE),
        act.UpdateRejected("produced zero addresses"),
    )
    (outcome,) = driver.step(ev.Pick(1))
    assert outcome == act.PickFail(1, _err("last resolver error: produced zero addresses"))

    driver.step(_update(A))
    outputs = driver.step(_update())
    assert outputs[:3] == (
        act.Shutdown(1),
        act.UpdateState(State.TRANSIENT_FAILURE),
        act.UpdateRejected("produced zero addresses"),
    )


@pytest.mark.req("BASE-4", "BASE-5")
def test_transient_failure_is_sticky_for_aggregation_but_idle_reconnects() -> None:
    driver, _ = _driver()
    driver.step(_update(A, B))
    _fail(driver, 1, "refused-1")
    assert _fail(driver, 2, "refused-2")[-1] == act.UpdateState(State.TRANSIENT_FAILURE)
    # Backoff over: IDLE is not counted (still TF) but the SubConn reconnects at once.
    assert driver.step(ev.SubchannelStateChange(1, State.IDLE)) == (act.Connect(1),)
    assert driver.step(ev.SubchannelStateChange(1, State.CONNECTING)) == ()
    # A new failure counts again: TF re-reported with the fresh error.
    outputs = driver.step(ev.SubchannelStateChange(1, State.TRANSIENT_FAILURE, _err("again")))
    assert outputs == (act.UpdateState(State.TRANSIENT_FAILURE),)
    (fail,) = driver.step(ev.Pick(1))
    assert fail == act.PickFail(1, _err("last connection error: again"))
    driver.step(ev.SubchannelStateChange(2, State.IDLE))
    driver.step(ev.SubchannelStateChange(2, State.CONNECTING))
    assert driver.step(ev.SubchannelStateChange(2, State.READY)) == (act.UpdateState(State.READY),)
    assert driver.step(ev.Pick(2)) == (act.PickComplete(2, 2),)


@pytest.mark.req("BASE-5")
def test_idle_subconn_is_reconnected() -> None:
    driver, _ = _driver()
    driver.step(_update(A))
    _ready(driver, 1)
    assert driver.step(ev.SubchannelStateChange(1, State.IDLE)) == (
        act.Connect(1),
        act.UpdateState(State.IDLE),
    )


@pytest.mark.req("BASE-6", "BASE-8")
def test_picker_is_rebuilt_when_ready_membership_changes() -> None:
    driver, pickers = _driver()
    driver.step(_update(A, B))
    assert len(pickers.infos) == 1  # every resolver update rebuilds
    driver.step(ev.SubchannelStateChange(1, State.CONNECTING))
    assert len(pickers.infos) == 1
    assert driver.step(ev.SubchannelStateChange(1, State.READY)) == (act.UpdateState(State.READY),)
    assert (len(pickers.infos), pickers.ready_addresses()) == (2, [A])
    # B connecting changes no READY membership: same picker, reported again.
    assert driver.step(ev.SubchannelStateChange(2, State.CONNECTING)) == (
        act.UpdateState(State.READY),
    )
    assert len(pickers.infos) == 2
    driver.step(ev.SubchannelStateChange(2, State.READY))
    assert (len(pickers.infos), pickers.ready_addresses()) == (3, [A, B])
    driver.step(ev.SubchannelStateChange(1, State.IDLE))
    assert (len(pickers.infos), pickers.ready_addresses()) == (4, [B])


@pytest.mark.req("BASE-7", "BASE-8")
def test_transient_failure_picker_merges_connection_and_resolver_errors() -> None:
    driver, _ = _driver()
    driver.step(_update(A, B))
    _fail(driver, 1, "refused-1")
    _fail(driver, 2, "refused-2")
    assert driver.step(ev.ResolverError("dns down")) == (act.UpdateState(State.TRANSIENT_FAILURE),)
    (fail,) = driver.step(ev.Pick(1))
    assert fail == act.PickFail(
        1, _err("last connection error: refused-2; last resolver error: dns down")
    )
    driver.step(_update(A, B))  # a good update clears the resolver error
    (fail,) = driver.step(ev.Pick(2))
    assert fail == act.PickFail(2, _err("last connection error: refused-2"))


@pytest.mark.req("BASE-8")
def test_resolver_error_outside_transient_failure_changes_nothing() -> None:
    driver, _ = _driver()
    driver.step(_update(A))
    _ready(driver, 1)
    assert driver.step(ev.ResolverError("dns down")) == ()
    assert driver.step(ev.Pick(1)) == (act.PickComplete(1, 1),)


@pytest.mark.req("BASE-10")
def test_health_checking_folds_health_into_the_counted_state() -> None:
    driver, _ = _driver(health_check=True, health_checking=True)
    assert driver.step(_update(A))[0] == act.NewSubchannel(1, [A], health_listener=True)
    driver.step(ev.SubchannelStateChange(1, State.CONNECTING))
    assert driver.step(ev.SubchannelStateChange(1, State.READY)) == ()  # awaiting health
    assert driver.step(ev.HealthStateChange(1, State.READY)) == (act.UpdateState(State.READY),)
    outputs = driver.step(ev.HealthStateChange(1, State.TRANSIENT_FAILURE, _err("not serving")))
    assert outputs == (act.UpdateState(State.TRANSIENT_FAILURE),)
    (fail,) = driver.step(ev.Pick(1))
    assert fail == act.PickFail(1, _err("last connection error: not serving"))

    unchecked, _ = _driver(health_check=True)  # the channel delivers health READY itself
    unchecked.step(_update(A))
    unchecked.step(ev.SubchannelStateChange(1, State.CONNECTING))
    assert unchecked.step(ev.SubchannelStateChange(1, State.READY)) == (
        act.UpdateState(State.READY),
    )


@pytest.mark.req("LB-3")
def test_close_shuts_down_every_subconn() -> None:
    driver, _ = _driver()
    driver.step(_update(A, B))
    _ready(driver, 2)
    assert driver.step(ev.Close()) == (act.Shutdown(1), act.Shutdown(2))


# --- Property: the reported state is the aggregate of the counted states ---

_NEXT = {
    State.IDLE: [State.CONNECTING],
    State.CONNECTING: [State.READY, State.TRANSIENT_FAILURE, State.IDLE],
    State.READY: [State.IDLE],
    State.TRANSIENT_FAILURE: [State.IDLE],
}


@pytest.mark.req("BASE-4", "BASE-5", "BASE-8")
@given(st.data(), st.integers(min_value=1, max_value=4))
def test_reported_state_is_the_aggregate_of_counted_states(data: st.DataObject, n: int) -> None:
    driver, _ = _driver()
    addresses = [f"10.0.1.{i}:80" for i in range(1, n + 1)]
    trace = [Step(_update(*addresses), driver.step(_update(*addresses)))]
    actual = dict.fromkeys(range(1, n + 1), State.IDLE)  # what the driver delivered
    counted = dict(actual)  # the plain reading of BASE-4
    for _ in range(data.draw(st.integers(min_value=0, max_value=25), label="steps")):
        sc = data.draw(st.integers(min_value=1, max_value=n), label="subchannel")
        new = data.draw(st.sampled_from(_NEXT[actual[sc]]), label="state")
        event = ev.SubchannelStateChange(
            sc, new, _err(f"fail {sc}") if new is State.TRANSIENT_FAILURE else None
        )
        outputs = driver.step(event)
        trace.append(Step(event, outputs))
        actual[sc] = new
        sticky = counted[sc] is State.TRANSIENT_FAILURE and new in (State.CONNECTING, State.IDLE)
        reports = [o.state for o in outputs if isinstance(o, act.UpdateState)]
        if sticky:
            assert reports == []
        else:
            counted[sc] = new
            assert reports == [aggregate(counted.values())]
        assert (act.Connect(sc) in outputs) == (new is State.IDLE)  # BASE-5
    trace.append(Step(ev.Pick(1), driver.step(ev.Pick(1))))
    trace.append(Step(ev.Close(), driver.step(ev.Close())))
    assert judge(BoundaryMonitor, trace) == []
