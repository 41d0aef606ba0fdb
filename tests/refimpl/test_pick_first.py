"""pick_first, scripted: one test per grpc-go pick_first behaviour, restated on the Driver.

Each test names the grpc-go test it restates (balancer/pickfirst/pickfirst_test.go and
pickfirst_ext_test.go at 4793ad04).  Where grpc-go runs real servers, "server down" is a
subchannel failing (CONNECTING -> TRANSIENT_FAILURE) and "server stopped" is a READY
subchannel going IDLE.  Every trace is also judged by the boundary monitor and the
pick_first monitor (with the same options), and must have no violations.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from itertools import pairwise, permutations
from typing import Any

import attrs
import pytest

from refimpl import registry
from refimpl.balancer import (
    Balancer,
    BalancerState,
    BuildOptions,
    ClientConn,
    ClientConnState,
    ConfigError,
    ConfigParser,
    JsonValue,
    NewSubConnOptions,
    OptionError,
    ResolverState,
    SubConn,
    SubConnState,
    seeded_random,
)
from refimpl.clock import VirtualClock
from refimpl.driver import Driver
from refimpl.pick_first import (
    HEALTH_LISTENER_ATTRIBUTE,
    PickFirstBuilder,
    PickFirstConfig,
    deduplicate,
    enable_health_listener,
    flatten,
    interleave_by_family,
    shuffle_endpoints,
)
from spec import actions as act
from spec import events as ev
from spec.catalogue.pick_first import CONNECTION_ATTEMPT_DELAY, ReresolutionMode
from spec.connectivity import State
from spec.monitors.boundary import BoundaryMonitor
from spec.monitors.pick_first import PickFirstMonitor
from spec.options import (
    FamilyInterleaving,
    LostSubchannel,
    ResolverErrorBeforeConfig,
    SelectedAddressRemoved,
    SubchannelCreation,
)
from spec.trace import Step, Violation, judge
from spec.types import Address, Duration, Endpoint, OrcaLoadReport, Status, StatusCode

I, C, R, TF = State.IDLE, State.CONNECTING, State.READY, State.TRANSIENT_FAILURE
A1, A2, A3, A4 = "10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80", "10.0.0.4:80"
REFUSED = Status(StatusCode.UNAVAILABLE, "test error: connection refused")
UNREACHABLE = Status(StatusCode.UNAVAILABLE, "test err: unreachable")
SPEC_TEXT, GRPC_GO = ReresolutionMode.SPEC_TEXT, ReresolutionMode.GRPC_GO


# --- A parent that turns on the child's health listener, as round_robin does (PF-26) ---


class _HealthLeaf(Balancer):
    def __init__(self, child: Balancer) -> None:
        self.child = child

    def update_client_conn_state(self, state: ClientConnState) -> None:
        resolver_state = enable_health_listener(state.resolver_state)
        self.child.update_client_conn_state(attrs.evolve(state, resolver_state=resolver_state))

    def resolver_error(self, error: Status) -> None:
        self.child.resolver_error(error)

    def exit_idle(self) -> None:
        self.child.exit_idle()

    def close(self) -> None:
        self.child.close()


class HealthLeafBuilder(PickFirstBuilder):
    """pick_first as a leaf: every update carries HEALTH_LISTENER_ATTRIBUTE."""

    name = "test_pick_first_health_leaf"

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        return _HealthLeaf(super().build(cc, options))


# --- Running and judging a scenario ---


@attrs.define
class Run:
    """A driver plus the trace it produced; calling it feeds one input."""

    driver: Driver
    monitor: Callable[[], PickFirstMonitor]
    trace: list[Step] = attrs.field(factory=list)

    def __call__(self, event: ev.Input) -> tuple[act.Output, ...]:
        outputs = self.driver.step(event)
        self.trace.append(Step(event, outputs))
        return outputs

    def violations(self) -> list[Violation]:
        return judge(BoundaryMonitor, self.trace) + judge(self.monitor, self.trace)

    def reports(self) -> list[State]:
        return [o.state for s in self.trace for o in s.outputs if isinstance(o, act.UpdateState)]

    def created(self) -> list[str]:
        return [
            o.addresses[0].addr
            for s in self.trace
            for o in s.outputs
            if isinstance(o, act.NewSubchannel)
        ]

    def pick(self, wait_for_ready: bool = False) -> act.Output:
        pick_id = 1 + sum(isinstance(s.input, ev.Pick) for s in self.trace)
        outputs = self(ev.Pick(pick_id, wait_for_ready=wait_for_ready))
        return next(o for o in outputs if getattr(o, "pick_id", None) == pick_id)


MakeRun = Callable[..., Run]


def make_run(
    *,
    seed: int = 0,
    health: bool = False,
    health_checking: bool = False,
    reresolution: ReresolutionMode = SPEC_TEXT,
    builder: PickFirstBuilder | None = None,
    attempt_delay: Duration | None = None,
    selected_address_removed: SelectedAddressRemoved = SelectedAddressRemoved.GOES_IDLE,
) -> Run:
    """A pick_first run; ``health`` puts it under a parent that enables health (a leaf)."""
    extra: dict[str, Any] = {"selected_address_removed": selected_address_removed}
    if attempt_delay is not None:
        extra["attempt_delay"] = attempt_delay
    if builder is None:
        kind = HealthLeafBuilder if health else PickFirstBuilder
        builder = kind(reresolution, **extra)
    driver = Driver(builder, seed=seed, health_checking=health_checking)

    def monitor() -> PickFirstMonitor:
        return PickFirstMonitor(
            reresolution,
            health_listener=health,
            client_health_checking=health_checking,
            attempt_delay=CONNECTION_ATTEMPT_DELAY if attempt_delay is None else attempt_delay,
            # refimpl interleaves three families and creates lazily (its adapter declares so).
            family_interleaving=FamilyInterleaving.THREE_FAMILIES,
            selected_address_removed=selected_address_removed,
            subchannel_creation=SubchannelCreation.LAZY,
            lost_subchannel=LostSubchannel.KEPT,  # refimpl _lose spares the lost one
            # The driver's channel is grpc-go's unless told otherwise (SC-14).
            resolver_error_before_config=ResolverErrorBeforeConfig.DEFAULT_CONFIG,
        )

    return Run(driver, monitor)


# grpc-go's tests transcribed here expect its choice on removing the used address (PF-10).
GRPC_GO_RECONNECTS = SelectedAddressRemoved.RECONNECTS


@pytest.fixture
def run() -> Iterator[MakeRun]:
    """Makes runs; when the test ends every run's trace must satisfy both monitors."""
    made: list[Run] = []

    def make(**kwargs: object) -> Run:
        r = make_run(**kwargs)  # type: ignore[arg-type]
        made.append(r)
        return r

    yield make
    for r in made:
        assert r.violations() == []


# --- Input shorthands ---


def update(*addrs: str | Address | Endpoint, config: JsonValue = None) -> ev.ResolverUpdate:
    """One endpoint per address unless an Endpoint is given."""
    return ev.ResolverUpdate(
        [a if isinstance(a, Endpoint) else Endpoint([a]) for a in addrs], config=config
    )


def sc(ident: int, state: State, error: Status | None = None) -> ev.SubchannelStateChange:
    if state is TF and error is None:
        error = REFUSED
    return ev.SubchannelStateChange(ident, state, error)


def connects(r: Run, ident: int) -> None:
    """The subchannel's attempt succeeds."""
    r(sc(ident, C))
    r(sc(ident, R))


def fails(r: Run, ident: int, error: Status = REFUSED) -> tuple[act.Output, ...]:
    r(sc(ident, C))
    return r(sc(ident, TF, error))


def new(ident: int, addr: str | Address, health: bool = False) -> act.NewSubchannel:
    return act.NewSubchannel(ident, [addr], health_listener=health)


def ms(n: int) -> ev.TimeAdvanced:
    return ev.TimeAdvanced(Duration.of(millis=n))


def is_fail_with(outcome: act.Output, text: str) -> bool:
    return (
        isinstance(outcome, act.PickFail)
        and outcome.status.code is StatusCode.UNAVAILABLE
        and text in outcome.status.message
    )


# --- pickfirst_test.go ---


@pytest.mark.req("PF-22", "PF-3")
def test_initial_resolver_error(run: MakeRun) -> None:
    """TestPickFirst_InitialResolverError: TF before any update, then CONNECTING."""
    r = run()
    assert r(ev.ResolverError("resolution failed: test error")) == (act.UpdateState(TF),)
    assert is_fail_with(r.pick(), "resolution failed: test error")
    assert r(update(A1, A2)) == (act.UpdateState(C), new(1, A1), act.Connect(1))


@pytest.mark.req("PF-22", "PF-15")
def test_resolver_error_in_tf(run: MakeRun) -> None:
    """TestPickFirst_ResolverErrorinTF: the TF picker takes the resolver error; nothing closes."""
    r = run()
    r(update(A1))
    assert fails(r, 1) == (act.UpdateState(TF), act.RequestReresolution())
    assert is_fail_with(r.pick(), REFUSED.message)
    assert r(ev.ResolverError("resolution failed: test error")) == (act.UpdateState(TF),)
    assert is_fail_with(r.pick(), "resolution failed: test error")


@pytest.mark.req("PF-6", "PF-14", "PF-15", "PF-16")
def test_tf_picker_update(run: MakeRun) -> None:
    """TestPickFirstLeaf_TFPickerUpdate: TF after every subchannel failed once, then every N."""
    r = run()
    assert r(update(A1, A1, A2, A1)) == (act.UpdateState(C), new(1, A1), act.Connect(1))
    assert fails(r, 1) == (new(2, A2), act.Connect(2))
    assert r(sc(1, I)) == ()  # not reconnected before the first pass ends (PF-14)
    assert isinstance(r.pick(), act.PickQueue)
    # Both failed: TF with the error, and the IDLE one reconnects at once (PF-15).
    assert fails(r, 2) == (act.UpdateState(TF), act.RequestReresolution(), act.Connect(1))
    assert is_fail_with(r.pick(), REFUSED.message)
    assert r(sc(2, I)) == (act.Connect(2),)  # sticky: IDLE reconnects at once (PF-16)
    assert fails(r, 2, UNREACHABLE) == ()  # 1 failure of N = 2: no new picker
    assert fails(r, 1, UNREACHABLE) == (act.UpdateState(TF), act.RequestReresolution())
    assert is_fail_with(r.pick(), UNREACHABLE.message)
    assert r.created() == [A1, A2]


# --- pickfirst_ext_test.go ---


@pytest.mark.req("PF-11", "PF-19")
def test_multiple_backends(run: MakeRun) -> None:
    """TestPickFirst_MultipleBackends: every RPC goes to the first address."""
    r = run()
    assert r(update(A1, A2)) == (act.UpdateState(C), new(1, A1), act.Connect(1))
    r(sc(1, C))
    assert r(sc(1, R)) == (act.UpdateState(R),)
    for pick_id in (1, 2, 3):
        assert r.pick() == act.PickComplete(pick_id, 1)


@pytest.mark.req("PF-20", "PF-21", "PF-13")
def test_one_server_down(run: MakeRun) -> None:
    """TestPickFirst_OneServerDown: the used server stops; RPCs move to the next one."""
    r = run()
    r(update(A1, A2))
    connects(r, 1)
    assert r(sc(1, I)) == (act.UpdateState(I), act.RequestReresolution())
    outputs = r(ev.Pick(1))
    assert outputs == (act.PickQueue(1), act.UpdateState(C), act.Connect(1))
    assert fails(r, 1) == (new(2, A2), act.Connect(2))
    r(sc(2, C))
    assert r(sc(2, R)) == (act.Shutdown(1), act.UpdateState(R))
    assert r.pick() == act.PickComplete(2, 2)


@pytest.mark.req("PF-15")
def test_all_servers_down(run: MakeRun) -> None:
    """TestPickFirst_AllServersDown: once every server is down, RPCs fail UNAVAILABLE."""
    r = run()
    r(update(A1, A2))
    connects(r, 1)
    r(sc(1, I))
    r.pick()
    fails(r, 1)
    assert fails(r, 2)[0] == act.UpdateState(TF)
    assert is_fail_with(r.pick(), REFUSED.message)


@pytest.mark.req("PF-8", "PF-9", "PF-10")
def test_removing_the_used_address_goes_idle(run: MakeRun) -> None:
    """The spec text's choice (the default): report IDLE, connect on the next pick."""
    r = run()
    r(update(A1, A2, A3))
    connects(r, 1)
    assert r(update(A2, A3)) == (act.Shutdown(1), act.UpdateState(I))
    assert r.pick() == act.PickQueue(1)
    assert r.created()[-1] == A2  # the pick's ExitIdle starts a pass at the new first


@pytest.mark.req("PF-8", "PF-9", "PF-10")
def test_addresses_removed(run: MakeRun) -> None:
    """TestPickFirst_AddressesRemoved: removing the used address moves to the new first one
    (grpc-go's choice, pick_first.selected_address_removed=reconnects)."""
    r = run(selected_address_removed=GRPC_GO_RECONNECTS)
    r(update(A1, A2, A3))
    connects(r, 1)
    assert r(update(A2, A3)) == (act.Shutdown(1), act.UpdateState(C), new(2, A2), act.Connect(2))
    connects(r, 2)
    assert r(update(A2, A3, A1)) == ()  # the used address is still listed (PF-8)
    assert r.pick() == act.PickComplete(1, 2)
    assert r(update(A3, A1)) == (act.Shutdown(2), act.UpdateState(C), new(3, A3), act.Connect(3))
    connects(r, 3)
    assert r(update(A1)) == (act.Shutdown(3), act.UpdateState(C), new(4, A1), act.Connect(4))
    connects(r, 4)
    assert r.pick() == act.PickComplete(2, 4)


@pytest.mark.req("PF-2", "PF-3")
def test_new_address_while_blocking(run: MakeRun) -> None:
    """TestPickFirst_NewAddressWhileBlocking: an empty update, then addresses come back."""
    r = run()
    r(update(A1, A2))
    connects(r, 1)
    outputs = r(update())
    assert outputs[:2] == (act.Shutdown(1), act.UpdateState(TF))
    assert isinstance(outputs[2], act.UpdateRejected)
    # The channel queues a wait_for_ready RPC on a Fail; the picker itself fails it.
    assert is_fail_with(r.pick(wait_for_ready=True), "produced zero addresses")
    assert r(update(A1)) == (act.UpdateState(C), new(2, A1), act.Connect(2))
    connects(r, 2)
    assert r.pick() == act.PickComplete(2, 2)


@pytest.mark.req("PF-16")
def test_sticky_transient_failure(run: MakeRun) -> None:
    """TestPickFirst_StickyTransientFailure: TF stays while it keeps reconnecting."""
    r = run()
    r(update(A1))
    fails(r, 1)
    for _ in range(10):
        assert r(sc(1, I)) == (act.Connect(1),)
        assert r(sc(1, C)) == ()
        assert r(sc(1, TF)) == (act.UpdateState(TF), act.RequestReresolution())
    assert r.reports() == [C] + [TF] * 11


def _first_after_reset(seed: int, *endpoints: Endpoint) -> str:
    """Connect (unshuffled), switch shuffling on, empty update, same update: the first address."""
    r = make_run(seed=seed)
    shuffled = ev.ResolverUpdate(endpoints, config={"shuffleAddressList": True})
    r(ev.ResolverUpdate(endpoints))
    connects(r, 1)
    assert r(shuffled) == ()  # still connected to the first address (PF-8)
    r(update())
    r(shuffled)
    assert r.violations() == []
    return r.created()[-1]


@pytest.mark.req("PF-5", "PF-8")
def test_shuffle_address_list() -> None:
    """TestPickFirst_ShuffleAddressList: with shuffling, either endpoint may come first."""
    firsts = Counter(
        _first_after_reset(seed, Endpoint([A1]), Endpoint([A2])) for seed in range(200)
    )
    assert set(firsts) == {A1, A2}
    assert 0.35 < firsts[A2] / 200 < 0.65


@pytest.mark.req("PF-5")
def test_shuffle_address_list_no_endpoints() -> None:
    """TestPickFirst_ShuffleAddressListNoEndpoints: one-address endpoints shuffle uniformly.

    The driver always passes endpoints (the channel wraps bare addresses in one endpoint
    each), so grpc-go's "Addresses only" case is three one-address endpoints here.
    """
    orders: Counter[tuple[str, ...]] = Counter()
    for seed in range(600):
        r = make_run(seed=seed)
        r(update(A1, A2, A3, config={"shuffleAddressList": True}))
        fails(r, 1)
        fails(r, 2)
        assert r.violations() == []
        orders[tuple(r.created())] += 1
    assert set(orders) == set(permutations([A1, A2, A3]))
    assert all(60 < n < 140 for n in orders.values()), orders  # 100 expected each


@pytest.mark.req("PF-5")
def test_shuffle_address_list_weighted_shuffling() -> None:
    """TestPickFirst_ShuffleAddressList_WeightedShuffling: weight w is first w/sum of the time."""
    endpoints = [Endpoint([A1], weight=1), Endpoint([A2], weight=2), Endpoint([A3], weight=3)]
    firsts = Counter(_first_after_reset(seed, *endpoints) for seed in range(600))
    for addr, weight in ((A1, 1), (A2, 2), (A3, 3)):
        assert abs(firsts[addr] / 600 - weight / 6) < 0.07, firsts


@pytest.mark.req("PF-5", "PF-4")
def test_shuffling_keeps_each_endpoints_addresses_in_order(run: MakeRun) -> None:
    """gRFC A61: shuffling moves endpoints, never the addresses inside one."""
    for seed in range(20):
        r = run(seed=seed)
        r(update(Endpoint([A1, A2]), Endpoint([A3, A4]), config={"shuffleAddressList": True}))
        for ident in range(1, 4):
            fails(r, ident)
        assert r.created() in ([A1, A2, A3, A4], [A3, A4, A1, A2])


@pytest.mark.req("PF-1")
def test_parse_config_failure(run: MakeRun) -> None:
    """TestPickFirst_ParseConfig_Failure (and _Success): a wrong type is a named error."""
    builder = PickFirstBuilder()
    with pytest.raises(ConfigError, match="shuffleAddressList") as caught:
        builder.parse_config({"shuffleAddressList": 666})
    assert caught.value.path == "shuffleAddressList"
    with pytest.raises(ConfigError, match="shuffleAddressList"):
        builder.parse_config({"shuffleAddressList": "true"})
    with pytest.raises(ConfigError, match="JSON object"):
        builder.parse_config([{"shuffleAddressList": True}])
    assert builder.parse_config({}) == PickFirstConfig(False)
    assert builder.parse_config({"shuffleAddressList": None}) == PickFirstConfig(False)
    assert builder.parse_config({"shuffleAddressList": True, "x": 1}) == PickFirstConfig(True)
    # Through the channel: an invalid first config fails RPCs and never reaches the policy.
    r = run()
    outputs = r(update(A1, config={"shuffleAddressList": 666}))
    assert [type(o) for o in outputs] == [act.UpdateState, act.UpdateRejected]
    assert is_fail_with(r.pick(), "error parsing service config")
    assert r(update(A1, config={})) == (act.UpdateState(C), new(1, A1), act.Connect(1))


@pytest.mark.req("PF-1", "PF-2")
def test_an_invalid_config_keeps_the_config_in_force(run: MakeRun) -> None:
    """grpc-go clientconn.go: once a config is in force, a bad one is rejected, not applied."""
    r = run()
    r(ev.ResolverError("resolver failed"))  # the channel applies its default config here
    outputs = r(update(A1, A2, config={"shuffleAddressList": 1}))
    assert outputs[:3] == (act.UpdateState(C), new(1, A1), act.Connect(1))
    assert [type(o) for o in outputs[3:]] == [act.UpdateRejected]
    # An empty list with a bad config: the update is rejected once.
    outputs = r(update(config={"shuffleAddressList": "no"}))
    assert sum(isinstance(o, act.UpdateRejected) for o in outputs) == 1
    assert is_fail_with(r.pick(), "produced zero addresses")


def _with_attributes(addrs: Sequence[str], key: str, balancer: bool = False) -> list[Address]:
    if balancer:
        return [Address(a, balancer_attributes={key: str(i)}) for i, a in enumerate(addrs)]
    return [Address(a, attributes={key: str(i)}) for i, a in enumerate(addrs)]


@pytest.mark.req("PF-9", "PF-10", "PF-6")
def test_address_update_with_attributes(run: MakeRun) -> None:
    """TestPickFirst_AddressUpdateWithAttributes: new attributes mean new addresses."""
    r = run(selected_address_removed=GRPC_GO_RECONNECTS)
    first = _with_attributes([A1, A2], "test-attribute-1")
    r(update(*first))
    connects(r, 1)
    second = [attrs.evolve(a, attributes={**dict(a.attributes), "a2": "x"}) for a in first]
    assert r(update(*second)) == (
        act.Shutdown(1),
        act.UpdateState(C),
        new(2, second[0]),
        act.Connect(2),
    )
    connects(r, 2)
    third = [attrs.evolve(a, attributes={**dict(a.attributes), "a3": "y"}) for a in second]
    third.reverse()
    assert r(update(*third)) == (
        act.Shutdown(2),
        act.UpdateState(C),
        new(3, third[0]),
        act.Connect(3),
    )
    connects(r, 3)
    assert r.pick() == act.PickComplete(1, 3)
    assert r.created() == [A1, A1, A2]


@pytest.mark.req("PF-8", "PF-6")
def test_address_update_with_balancer_attributes(run: MakeRun) -> None:
    """TestPickFirst_AddressUpdateWithBalancerAttributes: balancer attributes are not identity."""
    r = run()
    r(update(*_with_attributes([A1, A2], "test-attribute-1", balancer=True)))
    connects(r, 1)
    assert r(update(*_with_attributes([A1, A2], "test-attribute-2", balancer=True))) == ()
    assert r(update(*reversed(_with_attributes([A1, A2], "attribute-3", balancer=True)))) == ()
    assert r.pick() == act.PickComplete(1, 1)


@pytest.mark.req("PF-8")
def test_address_update_with_metadata(run: MakeRun) -> None:
    """TestPickFirstLeaf_AddressUpdateWithMetadata: data that is not identity changes nothing.

    The models have no per-address Metadata; endpoint attributes play its part here.
    """
    r = run()
    r(update(Endpoint([A1], attributes={"m": "1"}), Endpoint([A2], attributes={"m": "2"})))
    connects(r, 1)
    assert r(update(Endpoint([A1], attributes={"n": "1"}), Endpoint([A2]))) == ()
    assert (
        r(update(Endpoint([A2], attributes={"o": "2"}), Endpoint([A1], attributes={"o": 1}))) == ()
    )
    assert r.pick() == act.PickComplete(1, 1)


@pytest.mark.req("PF-22")
def test_resolver_error_no_previous_update(run: MakeRun) -> None:
    """TestPickFirst_ResolverError_NoPreviousUpdate: TF carrying the resolver's error."""
    r = run()
    assert r(ev.ResolverError("error from name resolver")) == (act.UpdateState(TF),)
    assert is_fail_with(r.pick(), "error from name resolver")


@pytest.mark.req("PF-22")
def test_resolver_error_with_previous_update_ready(run: MakeRun) -> None:
    """TestPickFirst_ResolverError_WithPreviousUpdate_Ready: READY keeps working."""
    r = run()
    r(update(A1))
    connects(r, 1)
    assert r(ev.ResolverError("error from name resolver")) == ()
    assert r.pick() == act.PickComplete(1, 1)


@pytest.mark.req("PF-22")
def test_resolver_error_with_previous_update_connecting(run: MakeRun) -> None:
    """TestPickFirst_ResolverError_WithPreviousUpdate_Connecting: RPCs wait, then fail on TF."""
    r = run()
    r(update(A1))
    r(sc(1, C))
    assert r(ev.ResolverError("error from name resolver")) == ()
    assert isinstance(r.pick(), act.PickQueue)
    r(sc(1, TF))
    outcome = r.pick()
    assert is_fail_with(outcome, REFUSED.message)
    assert not is_fail_with(outcome, "error from name resolver")


@pytest.mark.req("PF-22")
def test_resolver_error_with_previous_update_transient_failure(run: MakeRun) -> None:
    """TestPickFirst_ResolverError_WithPreviousUpdate_TransientFailure: the new error wins."""
    r = run()
    r(update(A1))
    fails(r, 1)
    assert is_fail_with(r.pick(), REFUSED.message)
    assert r(ev.ResolverError("error from name resolver")) == (act.UpdateState(TF),)
    assert is_fail_with(r.pick(), "error from name resolver")


@pytest.mark.req("PF-2")
def test_resolver_error_zero_addresses_with_previous_update(run: MakeRun) -> None:
    """TestPickFirst_ResolverError_ZeroAddresses_WithPreviousUpdate."""
    r = run()
    r(update(A1))
    connects(r, 1)
    r(update())
    assert is_fail_with(r.pick(), "produced zero addresses")


@pytest.mark.req("PF-11", "PF-19")
def test_simple_resolver_update_first_server_ready(run: MakeRun) -> None:
    """TestPickFirstLeaf_SimpleResolverUpdate_FirstServerReady."""
    r = run()
    r(update(A1, A2))
    connects(r, 1)
    assert r.created() == [A1]
    assert r.reports() == [C, R]


@pytest.mark.req("PF-13", "PF-19")
def test_simple_resolver_update_first_server_unready(run: MakeRun) -> None:
    """TestPickFirstLeaf_SimpleResolverUpdate_FirstServerUnReady."""
    r = run()
    r(update(A1, A2))
    fails(r, 1)
    r(sc(2, C))
    assert r(sc(2, R)) == (act.Shutdown(1), act.UpdateState(R))
    assert r.created() == [A1, A2]
    assert r.reports() == [C, R]


@pytest.mark.req("PF-6")
def test_simple_resolver_update_duplicate_addrs(run: MakeRun) -> None:
    """TestPickFirstLeaf_SimpleResolverUpdate_DuplicateAddrs: one subchannel per address."""
    r = run()
    r(update(A1, A1, A2))
    fails(r, 1)
    connects(r, 2)
    assert r.created() == [A1, A2]
    assert r.reports() == [C, R]


def _ready_on_second(r: Run, first: str, second: str) -> None:
    r(update(first, second))
    fails(r, 1)
    connects(r, 2)


@pytest.mark.req("PF-9", "PF-10")
def test_resolver_updates_disjoint_lists(run: MakeRun) -> None:
    """TestPickFirstLeaf_ResolverUpdates_DisjointLists."""
    r = run(selected_address_removed=GRPC_GO_RECONNECTS)
    _ready_on_second(r, A1, A2)
    assert r(update(A3, A4)) == (act.Shutdown(2), act.UpdateState(C), new(3, A3), act.Connect(3))
    fails(r, 3)
    connects(r, 4)
    assert r.created() == [A1, A2, A3, A4]
    assert r.reports() == [C, R, C, R]


@pytest.mark.req("PF-8")
def test_resolver_updates_active_backend_in_updated_list(run: MakeRun) -> None:
    """TestPickFirstLeaf_ResolverUpdates_ActiveBackendInUpdatedList."""
    r = run()
    _ready_on_second(r, A1, A2)
    assert r(update(A3, A2)) == ()
    assert r.pick() == act.PickComplete(1, 2)
    assert r.reports() == [C, R]


@pytest.mark.req("PF-9", "PF-10")
def test_resolver_updates_inactive_backend_in_updated_list(run: MakeRun) -> None:
    """TestPickFirstLeaf_ResolverUpdates_InActiveBackendInUpdatedList."""
    r = run(selected_address_removed=GRPC_GO_RECONNECTS)
    _ready_on_second(r, A1, A2)
    assert r(update(A1, A3)) == (act.Shutdown(2), act.UpdateState(C), new(3, A1), act.Connect(3))
    connects(r, 3)
    assert r.created() == [A1, A2, A1]
    assert r.reports() == [C, R, C, R]


@pytest.mark.req("PF-8")
def test_resolver_updates_identical_lists(run: MakeRun) -> None:
    """TestPickFirstLeaf_ResolverUpdates_IdenticalLists."""
    r = run()
    _ready_on_second(r, A1, A2)
    assert r(update(A1, A2)) == ()
    assert r.reports() == [C, R]


@pytest.mark.req("PF-20", "PF-21")
def test_stop_connected_server_first_server_restart(run: MakeRun) -> None:
    """TestPickFirstLeaf_StopConnectedServer_FirstServerRestart."""
    r = run()
    r(update(A1, A2))
    connects(r, 1)
    r(sc(1, I))  # the server stops
    assert r(ev.Pick(1)) == (act.PickQueue(1), act.UpdateState(C), act.Connect(1))
    connects(r, 1)  # and is back
    assert r.created() == [A1]
    assert r.reports() == [C, R, I, C, R]


@pytest.mark.req("PF-20", "PF-11")
def test_stop_connected_server_second_server_restart(run: MakeRun) -> None:
    """TestPickFirstLeaf_StopConnectedServer_SecondServerRestart: the kept subchannel is reused."""
    r = run()
    _ready_on_second(r, A1, A2)
    r(sc(2, I))
    assert r(ev.Pick(1)) == (act.PickQueue(1), act.UpdateState(C), new(3, A1), act.Connect(3))
    assert fails(r, 3) == (act.Connect(2),)
    r(sc(2, C))
    assert r(sc(2, R)) == (act.Shutdown(3), act.UpdateState(R))
    assert r.created() == [A1, A2, A1]
    assert r.reports() == [C, R, I, C, R]


@pytest.mark.req("PF-20")
def test_stop_connected_server_second_server_to_first(run: MakeRun) -> None:
    """TestPickFirstLeaf_StopConnectedServer_SecondServerToFirst."""
    r = run()
    _ready_on_second(r, A1, A2)
    r(sc(2, I))
    r.pick()
    r(sc(3, C))
    assert r(sc(3, R)) == (act.Shutdown(2), act.UpdateState(R))
    assert r.created() == [A1, A2, A1]
    assert r.reports() == [C, R, I, C, R]


@pytest.mark.req("PF-20")
def test_stop_connected_server_first_server_to_second(run: MakeRun) -> None:
    """TestPickFirstLeaf_StopConnectedServer_FirstServerToSecond."""
    r = run()
    r(update(A1, A2))
    connects(r, 1)
    r(sc(1, I))
    r.pick()
    assert fails(r, 1) == (new(2, A2), act.Connect(2))
    r(sc(2, C))
    assert r(sc(2, R)) == (act.Shutdown(1), act.UpdateState(R))
    assert r.reports() == [C, R, I, C, R]


@pytest.mark.req("PF-2", "PF-3")
def test_empty_address_list(run: MakeRun) -> None:
    """TestPickFirstLeaf_EmptyAddressList: TF from an empty list is not sticky."""
    r = run()
    r(update(A1))
    connects(r, 1)
    r(update())
    r(update(A1))
    connects(r, 2)
    assert r.reports() == [C, R, TF, C, R]


@pytest.mark.req("PF-12")
def test_happy_eyeballs_trigger_connection_delay(run: MakeRun) -> None:
    """TestPickFirstLeaf_HappyEyeballs_TriggerConnectionDelay: 250 ms later, the next starts."""
    r = run()
    r(update(A1, A2))
    r(sc(1, C))
    assert r(ms(249)) == ()
    assert r(ms(1)) == (new(2, A2), act.Connect(2))
    r(sc(2, C))
    assert r(sc(2, R)) == (act.Shutdown(1), act.UpdateState(R))


@pytest.mark.req("PF-13", "PF-12")
def test_happy_eyeballs_tf_then_timer_fires(run: MakeRun) -> None:
    """TestPickFirstLeaf_HappyEyeballs_TF_ThenTimerFires: a failure moves on and restarts it."""
    r = run()
    r(update(A1, A2, A3))
    r(sc(1, C))
    r(ms(100))
    assert r(sc(1, TF)) == (new(2, A2), act.Connect(2))
    r(sc(2, C))
    assert r(ms(249)) == ()  # the timer restarted at the failure
    assert r(ms(1)) == (new(3, A3), act.Connect(3))
    assert r(sc(2, R)) == (act.Shutdown(1), act.Shutdown(3), act.UpdateState(R))
    assert r.driver.clock.pending() == 0


@pytest.mark.req("PF-14", "PF-12")
def test_happy_eyeballs_tf_after_end_of_list(run: MakeRun) -> None:
    """TestPickFirstLeaf_HappyEyeballs_TF_AfterEndOfList: failures out of order end the pass."""
    r = run()
    r(update(A1, A2, A3))
    r(sc(1, C))
    assert r(ms(250)) == (new(2, A2), act.Connect(2))
    r(sc(2, C))
    assert r(ms(250)) == (new(3, A3), act.Connect(3))
    r(sc(3, C))
    assert r(sc(1, TF)) == ()
    assert r(sc(3, TF)) == ()
    assert r(sc(2, TF)) == (act.UpdateState(TF), act.RequestReresolution())


@pytest.mark.req("PF-19", "PF-12")
def test_happy_eyeballs_ignore_inflight_cancellations(run: MakeRun) -> None:
    """TestPickFirstLeaf_HappyEyeballs_Ignore_Inflight_Cancellations, minus the metrics.

    The second attempt wins while the first is still in flight: the first is shut down
    mid-attempt and only the winner is ever used.
    """
    r = run()
    r(update(A1, A2))
    r(sc(1, C))
    r(ms(250))
    r(sc(2, C))
    assert r(sc(2, R)) == (act.Shutdown(1), act.UpdateState(R))
    assert r.driver.subconns[1].state is State.SHUTDOWN
    assert [r.pick(), r.pick()] == [act.PickComplete(1, 2), act.PickComplete(2, 2)]


def _creation_order(r: Run, *addrs: str) -> list[str]:
    r(update(*addrs))
    ident = 1
    while ident <= len(r.created()):  # each failure makes the pass create the next one
        fails(r, ident)
        ident += 1
    return r.created()


V6_1 = "[0001:0001:0001:0001:0001:0001:0001:0001]:8080"
V6_2 = "[0002:0002:0002:0002:0002:0002:0002:0002]:8080"
V6_ZONE = "[fe80::1%eth0]:3333"
V4_MAPPED = "[::FFFF:192.168.0.1]:2222"


@pytest.mark.req("PF-7")
def test_interleaving_ipv4_preferred(run: MakeRun) -> None:
    """TestPickFirstLeaf_InterleavingIPV4Preferred."""
    addrs = ["1.1.1.1:1111", "2.2.2.2:2", "3.3.3.3:3", V4_MAPPED, V6_1, V6_2, V6_ZONE, "grpc.io:80"]
    assert _creation_order(run(), *addrs) == [
        "1.1.1.1:1111",
        V6_1,
        "grpc.io:80",
        "2.2.2.2:2",
        V6_2,
        "3.3.3.3:3",
        V6_ZONE,
        V4_MAPPED,
    ]


@pytest.mark.req("PF-7", "PF-6")
def test_interleaving_ipv6_preferred(run: MakeRun) -> None:
    """TestPickFirstLeaf_InterleavingIPv6Preferred."""
    v6_2 = "[0002:0002:0002:0002:0002:0002:0002:0002]:2222"
    addrs = [V6_1, V6_1, "1.1.1.1:1111", "2.2.2.2:2", "3.3.3.3:3", V4_MAPPED, v6_2, V6_ZONE]
    assert _creation_order(run(), *addrs, "grpc.io:80") == [
        V6_1,
        "1.1.1.1:1111",
        "grpc.io:80",
        v6_2,
        "2.2.2.2:2",
        V6_ZONE,
        "3.3.3.3:3",
        V4_MAPPED,
    ]


@pytest.mark.req("PF-7")
def test_interleaving_unknown_preferred(run: MakeRun) -> None:
    """TestPickFirstLeaf_InterleavingUnknownPreferred."""
    addrs = ["grpc.io:80", "1.1.1.1:1111", "2.2.2.2:2", "3.3.3.3:3", V4_MAPPED, V6_1, V6_2]
    assert _creation_order(run(), *addrs, V6_ZONE, "example.com:80") == [
        "grpc.io:80",
        "1.1.1.1:1111",
        V6_1,
        "example.com:80",
        "2.2.2.2:2",
        V6_2,
        "3.3.3.3:3",
        V6_ZONE,
        V4_MAPPED,
    ]


@pytest.mark.req("PF-26")
def test_health_listener_not_enabled(run: MakeRun) -> None:
    """TestPickFirstLeaf_HealthListenerNotEnabled: a top-level pick_first never watches health."""
    r = run()
    assert r(update(A1))[1] == new(1, A1, health=False)
    r(sc(1, C))
    assert r(sc(1, R)) == (act.UpdateState(R),)
    assert r.driver.subconns[1].health_listener is None


@pytest.mark.req("PF-26", "PF-27")
def test_health_listener_enabled(run: MakeRun) -> None:
    """TestPickFirstLeaf_HealthListenerEnabled: no health checking, so health READY at once."""
    r = run(health=True)
    assert r(update(A1))[1] == new(1, A1, health=True)
    r(sc(1, C))
    assert r(sc(1, R)) == (act.UpdateState(R),)  # CONNECTING is already reported
    assert r.driver.subconns[1].health_listener is not None
    assert r.pick() == act.PickComplete(1, 1)


@pytest.mark.req("PF-27")
def test_health_updates(run: MakeRun) -> None:
    """TestPickFirstLeaf_HealthUpdates: the leaf reports its chosen subchannel's health."""
    r = run(health=True, health_checking=True)
    r(update(A1))
    r(sc(1, C))
    assert r(sc(1, R)) == ()  # stays CONNECTING until health says otherwise
    unhealthy = Status(StatusCode.UNAVAILABLE, "test health check failure")
    assert r(ev.HealthStateChange(1, TF, unhealthy)) == (act.UpdateState(TF),)
    assert is_fail_with(r.pick(), "health check failure")
    assert r(ev.HealthStateChange(1, C)) == (act.UpdateState(C),)
    assert isinstance(r.pick(), act.PickQueue)
    assert r(ev.HealthStateChange(1, R)) == (act.UpdateState(R),)
    assert r.pick() == act.PickComplete(3, 1)
    assert r(ev.HealthStateChange(1, TF, unhealthy)) == (act.UpdateState(TF),)


@pytest.mark.req("PF-27", "PF-16")
def test_health_leaf_leaves_sticky_tf_through_connecting(run: MakeRun) -> None:
    """grpc-go: READY under a health listener reports CONNECTING, even from sticky TF."""
    r = run(health=True, health_checking=True)
    r(update(A1))
    fails(r, 1)
    r(sc(1, I))
    r(sc(1, C))
    assert r(sc(1, R)) == (act.UpdateState(C),)
    assert r(ev.HealthStateChange(1, R)) == (act.UpdateState(R),)


@pytest.mark.req("PF-20", "PF-10")
def test_reconnection(run: MakeRun) -> None:
    """TestPickFirstLeaf_Reconnection: an update while reconnecting uses the new address."""
    r = run()
    assert r(update(A1))[0] == act.UpdateState(C)
    connects(r, 1)
    assert r(sc(1, I))[0] == act.UpdateState(I)
    assert r(ev.Pick(1)) == (act.PickQueue(1), act.UpdateState(C), act.Connect(1))
    assert r(update(A2)) == (act.Shutdown(1), new(2, A2), act.Connect(2))
    connects(r, 2)
    assert r.reports() == [C, R, I, C, R]


# --- Rules with no grpc-go test of their own ---


@pytest.mark.req("PF-28")
@pytest.mark.parametrize("mode", list(ReresolutionMode))
def test_reresolution_follows_the_option(run: MakeRun, mode: ReresolutionMode) -> None:
    """SPEC_TEXT asks on the first TF, after N more failures and on a lost connection;
    GRPC_JS asks on the first two only."""
    r = run(reresolution=mode)
    r(update(A1, A2))
    fails(r, 1)
    fails(r, 2)  # first TF report
    r(sc(1, I))
    r(sc(2, I))
    fails(r, 1)
    fails(r, 2)  # N = 2 more failures: TF again
    r(sc(1, I))
    connects(r, 1)
    r(sc(1, I))  # lost
    asked = sum(isinstance(o, act.RequestReresolution) for s in r.trace for o in s.outputs)
    # two after failures (not GRPC_GO), one on the lost connection (SPEC_TEXT only)
    assert asked == {SPEC_TEXT: 3, ReresolutionMode.GRPC_JS: 2}.get(mode, 0)


class _RecordingConn(ClientConn):
    """A bare ClientConn that lets the test deliver state changes at any time."""

    def __init__(self) -> None:
        self.listeners: list[Callable[[SubConnState], None]] = []
        self.subconns: list[_Sub] = []
        self.states: list[State] = []

    def new_subconn(self, addresses: tuple[Address, ...], options: NewSubConnOptions) -> SubConn:
        self.listeners.append(options.state_listener)
        self.subconns.append(_Sub(addresses))
        return self.subconns[-1]

    def update_state(self, state: BalancerState) -> None:
        self.states.append(state.state)

    def resolve_now(self) -> None:
        pass


class _Sub(SubConn):
    def __init__(self, addresses: tuple[Address, ...]) -> None:
        self._addresses = addresses
        self.shut = False

    @property
    def addresses(self) -> tuple[Address, ...]:
        return self._addresses

    def connect(self) -> None:
        pass

    def shutdown(self) -> None:
        self.shut = True

    def register_health_listener(self, listener: Callable[[SubConnState], None]) -> None:
        pass

    def register_oob_listener(
        self, listener: Callable[[OrcaLoadReport], None], interval: Duration
    ) -> Callable[[], None]:
        return lambda: None


@pytest.mark.req("PF-25")
def test_late_notifications_from_shut_down_subchannels_are_ignored() -> None:
    """A real channel may deliver a state change that raced with Shutdown (grpc-go isActiveSCData).

    The driver never does, so this test plays the ClientConn itself.
    """
    cc = _RecordingConn()
    options = BuildOptions(VirtualClock(), seeded_random(0), run_soon=lambda fn: fn())
    balancer = PickFirstBuilder().build(cc, options)
    endpoints = (Endpoint([A1]), Endpoint([A2]))
    balancer.update_client_conn_state(ClientConnState(ResolverState(endpoints)))
    cc.listeners[0](SubConnState(C))
    cc.listeners[0](SubConnState(TF, REFUSED))
    cc.listeners[1](SubConnState(C))
    cc.listeners[1](SubConnState(R))
    assert cc.subconns[0].shut
    assert cc.states == [C, R]
    for late in (SubConnState(I), SubConnState(C), SubConnState(R)):
        cc.listeners[0](late)
    assert cc.states == [C, R]


@pytest.mark.req("PF-21")
def test_exit_idle_acts_only_in_idle(run: MakeRun) -> None:
    r = run()
    assert r(ev.ExitIdle()) == ()
    r(update(A1, A2))
    assert r(ev.ExitIdle()) == ()  # CONNECTING
    connects(r, 1)
    assert r(ev.ExitIdle()) == ()  # READY
    r(sc(1, I))
    assert r(ev.ExitIdle()) == (act.UpdateState(C), act.Connect(1))
    fails(r, 1)
    fails(r, 2)
    assert r(ev.ExitIdle()) == ()  # TRANSIENT_FAILURE


@pytest.mark.req("PF-10")
def test_update_in_idle_waits_for_exit_idle(run: MakeRun) -> None:
    r = run()
    r(update(A1))
    connects(r, 1)
    r(sc(1, I))
    assert r(update(A2, A1)) == ()  # IDLE: the list is kept for the next pass
    assert r(ev.ExitIdle()) == (act.UpdateState(C), new(2, A2), act.Connect(2))


@pytest.mark.req("PF-23")
def test_close_shuts_everything_down_and_stops_the_timer(run: MakeRun) -> None:
    r = run()
    r(update(A1, A2, A3))
    r(sc(1, C))
    r(ms(250))
    assert r.driver.clock.pending() == 1
    assert r(ev.Close()) == (act.Shutdown(1), act.Shutdown(2))
    assert r.driver.clock.pending() == 0


@pytest.mark.req("PF-24")
def test_reports_never_repeat_except_transient_failure(run: MakeRun) -> None:
    r = run()
    r(update(A1, A2, A3))
    for ident in (1, 2, 3):
        fails(r, ident)
    for ident in (1, 2, 3):
        r(sc(ident, I))
        fails(r, ident)
    r(sc(2, I))
    connects(r, 2)
    reports = r.reports()
    assert reports == [C, TF, TF, R]
    assert all(a is not b or a is TF for a, b in pairwise(reports))


@pytest.mark.req("PF-29")
def test_rpc_completions_and_load_reports_cause_nothing(run: MakeRun) -> None:
    r = run()
    r(update(A1))
    connects(r, 1)
    r.pick()
    assert r(ev.Done(1, trailer={"k": "v"}, load_report=OrcaLoadReport(0.5))) == ()
    assert r(ev.OobLoadReport(1, OrcaLoadReport(cpu_utilization=0.2))) == ()


@pytest.mark.req("PF-12")
def test_a_configured_attempt_delay_is_used(run: MakeRun) -> None:
    r = run(attempt_delay=Duration.of(seconds=1))
    r(update(A1, A2))
    assert r(ms(999)) == ()
    assert r(ms(1)) == (new(2, A2), act.Connect(2))


@pytest.mark.req("PF-4", "PF-5", "PF-6", "PF-7")
def test_address_list_steps() -> None:
    v6 = Address("[2001:db8::1]:80")
    eps = [Endpoint([A1, A2]), Endpoint([A2, "[2001:db8::1]:80"]), Endpoint([A3])]
    flat = flatten(eps)
    assert [a.addr for a in flat] == [A1, A2, A2, v6.addr, A3]
    deduped = deduplicate([*flat, Address(A1, balancer_attributes={"b": 1})])
    assert [a.addr for a in deduped] == [A1, A2, v6.addr, A3]
    assert [a.addr for a in interleave_by_family(deduped)] == [A1, v6.addr, A2, A3]
    rng = seeded_random(7)
    assert sorted(shuffle_endpoints(eps, rng), key=eps.index) == eps


def test_builder_is_registered_and_checks_its_options() -> None:
    builder = registry.get("pick_first")
    assert isinstance(builder, PickFirstBuilder)
    assert isinstance(builder, ConfigParser)
    assert builder.reresolution is SPEC_TEXT
    with pytest.raises(OptionError, match="ReresolutionMode"):  # the project's error
        PickFirstBuilder("grpc_go")  # type: ignore[arg-type]
    with pytest.raises(OptionError, match="attempt_delay"):
        PickFirstBuilder(attempt_delay=Duration.of(millis=50))
    state = enable_health_listener(ResolverState((Endpoint([A1]),), attributes=(("x", 1),)))
    assert (HEALTH_LISTENER_ATTRIBUTE, True) in state.attributes
    assert ("x", 1) in state.attributes
