"""The driver plays the channel: it enforces channel-side rules and records outputs in order."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from refimpl.balancer import (
    Balancer,
    BalancerState,
    BuildOptions,
    ClientConn,
    ClientConnState,
    Complete,
    DoneInfo,
    NewSubConnOptions,
    Picker,
    PickInfo,
    PickResult,
    QueuePicker,
    SubConn,
    SubConnState,
)
from refimpl.driver import Driver, DriverError
from spec import actions as act
from spec import events as ev
from spec.connectivity import Profile, State
from spec.monitors.boundary import BoundaryMonitor
from spec.trace import Step, judge
from spec.types import Duration, Endpoint, Status, StatusCode

ERR = Status(StatusCode.UNAVAILABLE, "connection refused")


class _FirstReadyPicker(Picker):
    def __init__(self, subconn: SubConn, done: Callable[[DoneInfo], None]) -> None:
        self.subconn, self.done = subconn, done

    def pick(self, info: PickInfo) -> PickResult:
        return Complete(self.subconn, self.done)


class EveryAddress(Balancer):
    """A tiny test policy: one SubConn per address, connect all, pick any READY one."""

    def __init__(self, cc: ClientConn, opts: BuildOptions) -> None:
        self.cc, self.opts = cc, opts
        self.subconns: list[SubConn] = []
        self.dones: list[DoneInfo] = []
        self.health: list[SubConnState] = []
        self.fired: list[Duration] = []
        self.states: list[tuple[SubConn, State]] = []  # every state update, in order

    def update_client_conn_state(self, state: ClientConnState) -> None:
        for endpoint in state.resolver_state.endpoints:
            for address in endpoint.addresses:
                box: list[SubConn] = []
                sc = self.cc.new_subconn((address,), NewSubConnOptions(self._listener(box), True))
                box.append(sc)
                self.subconns.append(sc)
                sc.connect()
        self.cc.update_state(BalancerState(State.CONNECTING, QueuePicker()))
        self.opts.clock.call_later(Duration.of(millis=250), self._tick)

    def _listener(self, box: list[SubConn]) -> Callable[[SubConnState], None]:
        return lambda state: self._on_state(box[0], state)

    def _tick(self) -> None:
        self.fired.append(self.opts.clock.now())

    def _on_state(self, sc: SubConn, state: SubConnState) -> None:
        self.states.append((sc, state.state))
        if state.state is State.READY:
            sc.register_health_listener(self.health.append)
            self.cc.update_state(
                BalancerState(State.READY, _FirstReadyPicker(sc, self.dones.append))
            )

    def resolver_error(self, error: Status) -> None:
        self.cc.resolve_now()

    def exit_idle(self) -> None:
        pass

    def close(self) -> None:
        for sc in self.subconns:
            sc.shutdown()
            self.states.append((sc, State.IDLE))  # a marker: shutdown() has returned


class EveryAddressBuilder:
    name = "test_every_address"

    def __init__(self) -> None:
        self.built: list[EveryAddress] = []

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        balancer = EveryAddress(cc, options)
        self.built.append(balancer)
        return balancer


def _driver(**kwargs: object) -> tuple[Driver, EveryAddress]:
    builder = EveryAddressBuilder()
    driver = Driver(builder, **kwargs)  # type: ignore[arg-type]
    return driver, builder.built[0]


UPDATE = ev.ResolverUpdate([Endpoint(["10.0.0.1:80"]), Endpoint(["10.0.0.2:80"])])


def test_outputs_are_recorded_in_call_order() -> None:
    driver, _ = _driver()
    assert driver.step(UPDATE) == (
        act.NewSubchannel(1, ["10.0.0.1:80"], health_listener=True),
        act.Connect(1),
        act.NewSubchannel(2, ["10.0.0.2:80"], health_listener=True),
        act.Connect(2),
        act.UpdateState(State.CONNECTING),
    )


def test_pick_before_any_picker_queues() -> None:
    driver, _ = _driver()
    assert driver.step(ev.Pick(1)) == (act.PickQueue(1),)


@pytest.mark.req("CONN-2")
def test_subchannel_cannot_leave_idle_without_connect() -> None:
    driver, balancer = _driver()
    driver.step(UPDATE)
    driver.step(ev.SubchannelStateChange(1, State.CONNECTING))
    driver.step(ev.SubchannelStateChange(1, State.TRANSIENT_FAILURE, ERR))
    driver.step(ev.SubchannelStateChange(1, State.IDLE))
    # The balancer did not reconnect after backoff, so CONNECTING cannot happen.
    with pytest.raises(DriverError, match="never called connect"):
        driver.step(ev.SubchannelStateChange(1, State.CONNECTING))
    assert balancer.subconns[0].addresses[0].addr == "10.0.0.1:80"


@pytest.mark.req("CONN-11")
def test_connect_outside_idle_does_not_arm_a_later_connecting() -> None:
    driver, balancer = _driver()
    driver.step(UPDATE)
    driver.step(ev.SubchannelStateChange(1, State.CONNECTING))
    balancer.subconns[0].connect()  # a no-op in CONNECTING
    driver.step(ev.SubchannelStateChange(1, State.IDLE))
    with pytest.raises(DriverError, match="never called connect"):
        driver.step(ev.SubchannelStateChange(1, State.CONNECTING))


@pytest.mark.req("CONN-3", "CONN-9")
def test_illegal_edges_are_refused_by_profile() -> None:
    driver, _ = _driver()
    driver.step(UPDATE)
    with pytest.raises(DriverError, match="IDLE -> READY"):
        driver.step(ev.SubchannelStateChange(1, State.READY))
    driver.step(ev.SubchannelStateChange(1, State.CONNECTING))
    with pytest.raises(DriverError, match="CONNECTING -> CONNECTING"):
        driver.step(ev.SubchannelStateChange(1, State.CONNECTING))


@pytest.mark.req("CONN-10")
def test_seed_profile_allows_retry_from_transient_failure() -> None:
    driver, _ = _driver(profile=Profile.SEED)
    driver.step(UPDATE)
    driver.step(ev.SubchannelStateChange(1, State.CONNECTING))
    driver.step(ev.SubchannelStateChange(1, State.TRANSIENT_FAILURE, ERR))
    driver.step(ev.SubchannelStateChange(1, State.CONNECTING))  # legal only under seed
    current, _ = _driver()
    current.step(UPDATE)
    current.step(ev.SubchannelStateChange(1, State.CONNECTING))
    current.step(ev.SubchannelStateChange(1, State.TRANSIENT_FAILURE, ERR))
    with pytest.raises(DriverError, match="'current'"):
        current.step(ev.SubchannelStateChange(1, State.CONNECTING))


def test_health_ready_is_delivered_when_checking_is_off() -> None:
    driver, balancer = _driver()
    driver.step(UPDATE)
    driver.step(ev.SubchannelStateChange(1, State.CONNECTING))
    driver.step(ev.SubchannelStateChange(1, State.READY))
    assert balancer.health == [SubConnState(State.READY)]


def test_health_updates_need_checking_and_a_listener() -> None:
    driver, balancer = _driver(health_checking=True)
    driver.step(UPDATE)
    driver.step(ev.SubchannelStateChange(1, State.CONNECTING))
    with pytest.raises(DriverError, match="no health listener"):
        driver.step(ev.HealthStateChange(1, State.READY))
    driver.step(ev.SubchannelStateChange(1, State.READY))
    assert balancer.health == []  # checking on: health comes from the health service
    driver.step(ev.HealthStateChange(1, State.TRANSIENT_FAILURE, ERR))
    assert balancer.health == [SubConnState(State.TRANSIENT_FAILURE, ERR)]


def test_done_reaches_the_pickers_callback_once() -> None:
    driver, balancer = _driver()
    driver.step(UPDATE)
    driver.step(ev.SubchannelStateChange(2, State.CONNECTING))
    driver.step(ev.SubchannelStateChange(2, State.READY))
    assert driver.step(ev.Pick(7)) == (act.PickComplete(7, 2),)
    driver.step(ev.Done(7, error=ERR))
    assert balancer.dones == [DoneInfo(ERR)]
    with pytest.raises(DriverError, match="pick 7"):
        driver.step(ev.Done(7))
    with pytest.raises(DriverError, match="pick_id 7"):
        driver.step(ev.Pick(7))


def test_virtual_time_fires_timers_in_order_at_their_deadline() -> None:
    driver, balancer = _driver()
    driver.step(UPDATE)
    driver.step(ev.TimeAdvanced(Duration.of(millis=249)))
    assert balancer.fired == []
    driver.step(ev.TimeAdvanced(Duration.of(seconds=10)))
    assert balancer.fired == [Duration.of(millis=250)]
    assert driver.clock.now() == Duration.of(seconds=10, millis=249)


@pytest.mark.req("CONN-8", "LB-3")
def test_close_then_nothing() -> None:
    driver, _ = _driver()
    driver.step(UPDATE)
    assert driver.step(ev.Close()) == (act.Shutdown(1), act.Shutdown(2))
    with pytest.raises(DriverError, match="after Close"):
        driver.step(ev.Pick(1))


@pytest.mark.req("CONN-8")
def test_a_shut_down_subchannel_gets_one_final_shutdown_update() -> None:
    """As grpc-go's channel does (balancer/subconn.go:73-79): the state listener hears
    SHUTDOWN once, after shutdown() returned (queued, as the serialiser would run it),
    and nothing more."""
    driver, policy = _driver()
    driver.step(UPDATE)
    first, second = policy.subconns
    driver.step(ev.Close())
    marker = State.IDLE  # close() records one after each shutdown() returns
    assert policy.states == [
        (first, marker),
        (second, marker),
        (first, State.SHUTDOWN),
        (second, State.SHUTDOWN),
    ]


def test_unknown_policy_is_a_clear_error() -> None:
    with pytest.raises(DriverError, match="no balancer registered as 'nope'"):
        Driver("nope")


def test_replays_give_the_same_trace() -> None:
    def run() -> list[Step]:
        driver, _ = _driver(seed=42)
        inputs: list[ev.Input] = [
            UPDATE,
            ev.SubchannelStateChange(1, State.CONNECTING),
            ev.SubchannelStateChange(1, State.READY),
            ev.Pick(1),
            ev.ResolverError("dns down"),
            ev.Close(),
        ]
        return [Step(i, driver.step(i)) for i in inputs]

    first = run()
    assert first == run()
    assert judge(BoundaryMonitor, first) == []
