"""Endpoint sharding with a tiny scripted leaf policy, so each rule is seen in isolation.

The leaf (:class:`Leaf`) makes one SubConn for its endpoint's first address
and reports that SubConn's state as its own; it records every call it gets.
Traces are judged by the boundary monitor; the round_robin monitor assumes
pick_first leaves, so it judges ``test_round_robin.py`` instead.
"""

from __future__ import annotations

import itertools
import threading
from collections import Counter
from collections.abc import Iterator
from typing import cast

import attrs
import pytest

from refimpl.balancer import (
    BadResolverStateError,
    Balancer,
    BalancerError,
    BalancerState,
    Builder,
    BuildOptions,
    ClientConn,
    ClientConnState,
    Complete,
    Drop,
    FailPicker,
    NewSubConnOptions,
    OptionError,
    Picker,
    PickInfo,
    PickResult,
    QueuePicker,
    SubConn,
    SubConnState,
    seeded_random,
    unavailable,
)
from refimpl.clock import VirtualClock
from refimpl.driver import Driver
from refimpl.endpoint_sharding import (
    NO_CHILDREN,
    EndpointSharding,
    EndpointShardingPicker,
    child_states_from_picker,
)
from spec import actions as act
from spec import events as ev
from spec.connectivity import State, aggregate_round_robin
from spec.monitors.boundary import BoundaryMonitor
from spec.options import RepeatedEndpoint
from spec.trace import Step, judge
from spec.types import Endpoint, Status, StatusCode, freeze_attributes

I, C, R, TF = State.IDLE, State.CONNECTING, State.READY, State.TRANSIENT_FAILURE
A, B, D = "10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"
MARK = ("test.leaf_attribute", True)


class _OnePicker(Picker):
    def __init__(self, subconn: SubConn) -> None:
        self.subconn = subconn

    def pick(self, info: PickInfo) -> PickResult:
        return Complete(self.subconn)


class Leaf(Balancer):
    """One SubConn for the endpoint's first address; its state is the leaf's state."""

    def __init__(self, cc: ClientConn, reject: frozenset[str]) -> None:
        self.cc = cc
        self.reject = reject
        self.subconn: SubConn | None = None
        self.raw = State.IDLE
        self.updates: list[ClientConnState] = []
        self.resolver_errors: list[Status] = []
        self.exit_idles = 0
        self.closed = False

    def update_client_conn_state(self, state: ClientConnState) -> None:
        self.updates.append(state)
        (endpoint,) = state.resolver_state.endpoints
        if endpoint.key & self.reject:
            raise BadResolverStateError(f"leaf refuses {sorted(endpoint.key)}")
        if self.subconn is None:
            self.subconn = self.cc.new_subconn(
                (endpoint.addresses[0],), NewSubConnOptions(self._on_state)
            )
            self.subconn.connect()
        self.cc.update_state(BalancerState(C, QueuePicker()))

    def _on_state(self, update: SubConnState) -> None:
        self.raw = update.state
        assert self.subconn is not None
        if update.state is R:
            self.cc.update_state(BalancerState(R, _OnePicker(self.subconn)))
        elif update.state is TF:
            assert update.error is not None
            self.cc.update_state(BalancerState(TF, FailPicker(update.error)))
            self.cc.resolve_now()
        elif update.state in (C, I):
            self.cc.update_state(BalancerState(update.state, QueuePicker()))

    def resolver_error(self, error: Status) -> None:
        self.resolver_errors.append(error)

    def exit_idle(self) -> None:
        self.exit_idles += 1
        if self.subconn is not None and self.raw is I:
            self.subconn.connect()
            self.cc.update_state(BalancerState(C, QueuePicker()))

    def close(self) -> None:
        self.closed = True
        if self.subconn is not None:
            self.subconn.shutdown()


@attrs.define
class LeafBuilder(Builder):
    name = "test_leaf"
    reject: frozenset[str] = frozenset()
    built: list[Leaf] = attrs.field(factory=list)

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        leaf = Leaf(cc, self.reject)
        self.built.append(leaf)
        return leaf


class _Marking(Balancer):
    """A parent that adds a resolver attribute, as round_robin does for pick_first."""

    def __init__(self, sharding: EndpointSharding) -> None:
        self.sharding = sharding

    def update_client_conn_state(self, state: ClientConnState) -> None:
        marked = attrs.evolve(state.resolver_state, attributes=freeze_attributes([MARK]))
        self.sharding.update_client_conn_state(attrs.evolve(state, resolver_state=marked))

    def resolver_error(self, error: Status) -> None:
        self.sharding.resolver_error(error)

    def exit_idle(self) -> None:
        self.sharding.exit_idle()

    def close(self) -> None:
        self.sharding.close()


@attrs.define
class ShardingBuilder(Builder):
    name = "test_sharding"
    leaves: LeafBuilder = attrs.field(factory=LeafBuilder)

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        return _Marking(EndpointSharding(cc, options, self.leaves))


@attrs.define
class Run:
    driver: Driver
    leaves: list[Leaf]
    trace: list[Step] = attrs.field(factory=list)
    picks: Iterator[int] = attrs.field(factory=lambda: itertools.count(1))

    def __call__(self, event: ev.Input) -> tuple[act.Output, ...]:
        outputs = self.driver.step(event)
        self.trace.append(Step(event, outputs))
        return outputs

    def pick(self) -> act.Output:
        return self(ev.Pick(next(self.picks)))[0]


@pytest.fixture
def runs() -> Iterator[list[Run]]:
    made: list[Run] = []
    yield made
    for r in made:
        assert judge(BoundaryMonitor, r.trace) == []


def start(runs: list[Run], *, seed: int = 0, reject: frozenset[str] = frozenset()) -> Run:
    builder = ShardingBuilder(LeafBuilder(reject=reject))
    r = Run(Driver(builder, seed=seed), builder.leaves.built)
    runs.append(r)
    return r


def update(*endpoints: list[str]) -> ev.ResolverUpdate:
    return ev.ResolverUpdate([Endpoint(e) for e in endpoints])


def reports(outputs: tuple[act.Output, ...]) -> list[State]:
    return [o.state for o in outputs if isinstance(o, act.UpdateState)]


def leaf_for(r: Run, addr: str) -> Leaf:
    (leaf,) = [
        leaf
        for leaf in r.leaves
        if not leaf.closed and addr in leaf.updates[-1].resolver_state.endpoints[0].key
    ]
    return leaf


def subchannel_of(r: Run, addr: str) -> int:
    for step in r.trace:
        for o in step.outputs:
            if isinstance(o, act.NewSubchannel) and o.addresses[0].addr == addr:
                return o.subchannel
    raise AssertionError(f"no subchannel for {addr}")


def to_state(r: Run, ident: int, state: State) -> None:
    """Drive a fresh (connecting) subchannel to ``state`` along legal edges."""
    if state is C:
        r(ev.SubchannelStateChange(ident, C))
    elif state is R:
        r(ev.SubchannelStateChange(ident, C))
        r(ev.SubchannelStateChange(ident, R))
    elif state is TF:
        r(ev.SubchannelStateChange(ident, C))
        r(ev.SubchannelStateChange(ident, TF, Status(StatusCode.UNAVAILABLE, f"down {ident}")))


@pytest.mark.req("RR-1", "RR-2", "RR-10")
def test_one_child_per_distinct_endpoint(runs: list[Run]) -> None:
    r = start(runs)
    outputs = r(update([A], [A], [B, D], [D, B]))
    assert len(r.leaves) == 2
    for leaf in r.leaves:
        (state,) = leaf.updates
        assert len(state.resolver_state.endpoints) == 1  # each child sees its endpoint alone
        assert MARK in state.resolver_state.attributes  # and the parent's attributes
    assert {leaf.updates[0].resolver_state.endpoints[0].key for leaf in r.leaves} == {
        frozenset({A}),
        frozenset({B, D}),
    }
    assert reports(outputs) == [C]  # two child reports, held back, one aggregate (RR-10)


@pytest.mark.req("RR-2")
def test_kept_endpoint_keeps_its_child_and_gets_the_new_order(runs: list[Run]) -> None:
    r = start(runs)
    r(update([A], [B, D]))
    child = leaf_for(r, B)
    outputs = r(update([D, B], [A]))
    assert len(r.leaves) == 2  # no child built
    assert not any(isinstance(o, act.Shutdown | act.NewSubchannel) for o in outputs)
    endpoint = child.updates[-1].resolver_state.endpoints[0]
    assert [a.addr for a in endpoint.addresses] == [D, B]


@pytest.mark.req("RR-3")
def test_removed_endpoint_closes_its_child(runs: list[Run]) -> None:
    r = start(runs)
    r(update([A], [B]))
    gone = leaf_for(r, A)
    outputs = r(update([B], [D]))
    assert gone.closed
    assert act.Shutdown(subchannel_of(r, A)) in outputs
    assert len(r.leaves) == 3
    assert reports(outputs) == [C]


@pytest.mark.req("RR-4")
def test_zero_endpoints(runs: list[Run]) -> None:
    r = start(runs)
    r(update([A], [B]))
    outputs = r(update())
    assert all(leaf.closed for leaf in r.leaves)
    assert reports(outputs) == [TF]
    assert isinstance(outputs[-1], act.UpdateRejected)
    outcome = r.pick()
    assert isinstance(outcome, act.PickFail)
    assert outcome.status == unavailable(NO_CHILDREN)


@pytest.mark.req("RR-10")
def test_a_child_error_rejects_the_update_after_every_child_had_it(runs: list[Run]) -> None:
    r = start(runs, reject=frozenset({A}))
    outputs = r(update([A], [B], [D]))
    assert len(r.leaves) == 3
    assert all(len(leaf.updates) == 1 for leaf in r.leaves)
    assert reports(outputs) == [C]
    assert outputs[-1] == act.UpdateRejected(f"leaf refuses {[A]}")


@pytest.mark.req("RR-11", "RR-5")
def test_each_child_change_reports_once(runs: list[Run]) -> None:
    r = start(runs)
    r(update([A], [B]))
    assert reports(r(ev.SubchannelStateChange(1, C))) == [C]
    assert reports(r(ev.SubchannelStateChange(1, R))) == [R]
    assert reports(r(ev.SubchannelStateChange(2, C))) == [R]


@pytest.mark.req("RR-6", "RR-5")
def test_idle_child_is_told_to_exit_idle(runs: list[Run]) -> None:
    r = start(runs)
    r(update([A], [B]))
    a = subchannel_of(r, A)
    to_state(r, a, R)
    child = leaf_for(r, A)
    outputs = r(ev.SubchannelStateChange(a, I))
    assert child.exit_idles == 1
    assert act.Connect(a) in outputs
    # The IDLE child counted as CONNECTING, and the aggregate never said IDLE (AGG-7).
    assert reports(outputs) == [C, C]


@pytest.mark.req("RR-5")
@pytest.mark.parametrize("states", list(itertools.product([C, R, TF], repeat=3)))
def test_aggregate_and_picker_follow_the_children(
    runs: list[Run], states: tuple[State, State, State]
) -> None:
    r = start(runs)
    r(update([A], [B], [D]))
    for addr, state in zip([A, B, D], states, strict=True):
        to_state(r, subchannel_of(r, addr), state)
    expected = aggregate_round_robin(states)
    assert r.driver.state is expected
    outcomes = [r.pick() for _ in range(6)]
    if expected is R:
        ready = {subchannel_of(r, a) for a, s in zip([A, B, D], states, strict=True) if s is R}
        chosen = [o.subchannel for o in outcomes if isinstance(o, act.PickComplete)]
        assert len(chosen) == 6
        assert set(chosen) == ready  # RR-7: only READY children, every one of them
    elif expected is C:
        assert all(isinstance(o, act.PickQueue) for o in outcomes)  # RR-8
    else:
        assert all(isinstance(o, act.PickFail) for o in outcomes)  # RR-9
        assert {o.status.message for o in outcomes if isinstance(o, act.PickFail)} == {
            f"down {subchannel_of(r, a)}" for a in (A, B, D)
        }


@pytest.mark.req("RR-13", "RR-10")
def test_resolver_error_and_exit_idle_reach_every_child_then_report_once(
    runs: list[Run],
) -> None:
    r = start(runs)
    r(update([A], [B], [D]))
    assert reports(r(ev.ResolverError("lookup failed"))) == [C]
    assert all([e.message for e in leaf.resolver_errors] == ["lookup failed"] for leaf in r.leaves)
    assert reports(r(ev.ExitIdle())) == [C]
    assert all(leaf.exit_idles == 1 for leaf in r.leaves)


@pytest.mark.req("RR-13")
def test_resolver_error_without_children_fails_picks(runs: list[Run]) -> None:
    r = start(runs)
    assert reports(r(ev.ResolverError("lookup failed"))) == [TF]
    outcome = r.pick()
    assert isinstance(outcome, act.PickFail)
    assert outcome.status.code is StatusCode.UNAVAILABLE


@pytest.mark.req("RR-14")
def test_child_re_resolution_request_reaches_the_parent(runs: list[Run]) -> None:
    r = start(runs)
    r(update([A]))
    r(ev.SubchannelStateChange(1, C))
    outputs = r(ev.SubchannelStateChange(1, TF, Status(StatusCode.UNAVAILABLE, "refused")))
    assert act.RequestReresolution() in outputs


@pytest.mark.req("RR-7")
def test_picker_exposes_every_child_state(runs: list[Run]) -> None:
    r = start(runs)
    r(update([A], [B]))
    to_state(r, subchannel_of(r, A), R)
    picker = r.driver.picker
    assert isinstance(picker, EndpointShardingPicker)
    states = child_states_from_picker(picker)
    assert states is not None
    assert {(s.endpoint.key, s.state.state) for s in states} == {
        (frozenset({A}), R),
        (frozenset({B}), C),
    }
    assert child_states_from_picker(QueuePicker()) is None


def test_close_closes_children_and_reports_nothing_after(runs: list[Run]) -> None:
    r = start(runs)
    r(update([A], [B]))
    outputs = r(ev.Close())
    assert sorted(o.subchannel for o in outputs if isinstance(o, act.Shutdown)) == [1, 2]
    assert reports(outputs) == []
    assert all(leaf.closed for leaf in r.leaves)


@pytest.mark.req("RR-2")
def test_every_copy_is_refused_as_an_option() -> None:
    # The reference keeps one child per distinct endpoint: round_robin.repeated_endpoint=
    # every_copy is judged by the monitor, never followed, and asking for it is misuse.
    options = BuildOptions(VirtualClock(), seeded_random(0), run_soon=lambda fn: fn())
    with pytest.raises(OptionError, match="every_copy is not followed"):
        EndpointSharding(
            cast(ClientConn, None),
            options,
            LeafBuilder(),
            repeated_endpoint=RepeatedEndpoint.EVERY_COPY,
        )


def test_picker_needs_a_child() -> None:
    with pytest.raises(BalancerError, match="at least one child picker"):
        EndpointShardingPicker([], (), 0)


class _Named(Picker):
    """A child picker that answers with its own name, to read the rotation off."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.answer = Drop(Status(StatusCode.UNAVAILABLE, name))

    def pick(self, info: PickInfo) -> PickResult:
        return self.answer


@pytest.mark.req("RR-7", "RR-16")
def test_the_rotation_cycles_from_start_and_spreads_evenly_across_threads() -> None:
    names = ["a", "b", "c", "d", "e"]
    picker = EndpointShardingPicker([_Named(n) for n in names], (), start=7)
    info = PickInfo("/s/m")

    def name_of(result: PickResult) -> str:
        assert isinstance(result, Drop)
        return result.status.message

    assert [name_of(picker.pick(info)) for _ in range(10)] == ["c", "d", "e", "a", "b"] * 2
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    barrier = threading.Barrier(4)

    def picking() -> None:
        barrier.wait()
        local = Counter(name_of(picker.pick(info)) for _ in range(1000))
        with lock:
            counts.update(local)

    threads = [threading.Thread(target=picking) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counts == dict.fromkeys(names, 800)
