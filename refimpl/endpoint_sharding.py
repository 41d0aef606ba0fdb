"""Endpoint sharding: one child balancer per endpoint, aggregated round-robin style.

The machinery under round_robin (and the other "petiole" policies of gRFC A61),
after grpc-go ``balancer/endpointsharding/endpointsharding.go``:

* An update rotates the endpoint list by a random amount (RR-12), skips
  endpoints whose address *set* it has already seen (RR-2), keeps the child of
  an endpoint it already has and sends it the endpoint's new address order,
  builds a child for each new endpoint (RR-1) and closes the children of
  endpoints that are gone (RR-3).  Each child sees one endpoint and the
  parent's resolver attributes.
* While it calls into its children (update, resolver error, ExitIdle) their
  reports are held back, and one aggregated report follows (RR-10).  Outside
  those calls, each child report causes one aggregated report (RR-11).
* The aggregate counts IDLE as CONNECTING (RR-5, AGG-7); a child reporting
  IDLE is asked to exit IDLE through ``run_soon`` (RR-6).
* The picker round-robins over the pickers of the children counted in the
  aggregate state, from a random start (RR-7..RR-9); with no children it fails
  with "no children to pick from" (RR-4, RR-13).
* Re-resolution requests of children go straight to the parent (RR-14).

One departure from grpc-go: the picker holds the children in the order of the
last update rather than Go's random map order, so the cyclic order is stable
between updates (any fixed order satisfies RR-7).
"""

from __future__ import annotations

import itertools
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import TypeVar

import attrs

from refimpl.balancer import (
    BadResolverStateError,
    Balancer,
    BalancerState,
    Builder,
    BuildOptions,
    ClientConn,
    ClientConnState,
    FailPicker,
    NewSubConnOptions,
    Picker,
    PickInfo,
    PickResult,
    QueuePicker,
    RandomSource,
    ResolverState,
    SubConn,
    unavailable,
)
from spec.connectivity import State, aggregate_round_robin
from spec.types import Address, Endpoint, Status

NO_CHILDREN = "no children to pick from"  # grpc-go's wording (RR-4)


@attrs.frozen
class ChildState:
    """One child as the picker saw it (grpc-go ``endpointsharding.ChildState``)."""

    endpoint: Endpoint
    state: BalancerState
    exit_idle: Callable[[], None] = attrs.field(eq=False)
    # The endpoint's identity (``Endpoint.key``), kept from when the child was built:
    # policies on top look their per-endpoint data up by it on every rebuild, and
    # ``Endpoint.key`` builds a new frozenset on each read.  Not grpc-go's.
    key: frozenset[str] = attrs.field(eq=False, kw_only=True)


def rotate_endpoints(endpoints: Sequence[Endpoint], rng: RandomSource) -> list[Endpoint]:
    """The list rotated left by a uniformly random amount (RR-12; grpc-go rotateEndpoints)."""
    if not endpoints:
        return []
    shift = rng.randrange(len(endpoints))
    return [*endpoints[shift:], *endpoints[:shift]]


# Whether next() on an itertools.cycle is atomic: under the GIL it is one C call that
# runs no Python code, so no other thread can run in the middle of it.  A free-threaded
# build (sys._is_gil_enabled, Python 3.13+) makes no such promise.
_ATOMIC_CYCLE = getattr(sys, "_is_gil_enabled", lambda: True)()

_T = TypeVar("_T")


def _cycle(items: Sequence[_T]) -> Iterator[_T]:
    return itertools.cycle(items) if _ATOMIC_CYCLE else _LockedCycle(items)


class _LockedCycle(Iterator[_T]):
    """``itertools.cycle`` with a lock around each step, for builds without the GIL."""

    def __init__(self, items: Sequence[_T]) -> None:
        self._items = tuple(items)
        self._next = 0
        self._lock = threading.Lock()

    def __next__(self) -> _T:
        with self._lock:
            index = self._next
            self._next = (index + 1) % len(self._items)
        return self._items[index]


class EndpointShardingPicker(Picker):
    """Round-robins over child pickers from ``start``, safely under concurrent picks (RR-16).

    The rotation is a cycle over the child pickers: one ``next()`` per pick hands each
    caller the next child exactly once, with no lock where the interpreter makes that
    step atomic (see ``_ATOMIC_CYCLE``).  A lock and an index cost several times an
    empty method call per pick (README, Benchmarks).  When every child's picker has a
    ``fixed_result`` (READY pick_first children, the usual case), the cycle is over those
    results instead, in the same order, and a pick calls no child at all.
    """

    def __init__(
        self, pickers: Sequence[Picker], child_states: tuple[ChildState, ...], start: int
    ) -> None:
        if not pickers:
            raise ValueError("EndpointShardingPicker needs at least one child picker")
        self._pickers = tuple(pickers)
        self.child_states = child_states
        first = start % len(self._pickers)
        order = (*self._pickers[first:], *self._pickers[:first])
        self._next_picker = _cycle(order)
        results = [picker.fixed_result for picker in order]
        fixed = [result for result in results if result is not None]
        self._next_result = _cycle(fixed) if len(fixed) == len(results) else None

    def pick(self, info: PickInfo) -> PickResult:
        next_result = self._next_result
        if next_result is not None:
            return next(next_result)
        return next(self._next_picker).pick(info)


class InterceptingClientConn(ClientConn):
    """The ClientConn a policy built on endpoint sharding hands it: the parent's, with the
    sharding's state reports (and, if given, its new SubConns) going through the policy.

    grpc-go's weighted_round_robin and least_request embed ``balancer.ClientConn`` and
    override ``UpdateState`` (and ``NewSubConn``) the same way.
    """

    def __init__(
        self,
        parent: ClientConn,
        on_state: Callable[[BalancerState], None],
        new_subconn: Callable[[tuple[Address, ...], NewSubConnOptions], SubConn] | None = None,
    ) -> None:
        self._parent = parent
        self._on_state = on_state
        self._new_subconn = parent.new_subconn if new_subconn is None else new_subconn

    def new_subconn(self, addresses: tuple[Address, ...], options: NewSubConnOptions) -> SubConn:
        return self._new_subconn(addresses, options)

    def update_state(self, state: BalancerState) -> None:
        self._on_state(state)

    def resolve_now(self) -> None:
        self._parent.resolve_now()


def child_states_from_picker(picker: Picker | None) -> tuple[ChildState, ...] | None:
    """Every child's endpoint and state behind ``picker``, or None for another picker.

    For policies built on top (weighted_round_robin, least_request) that pick
    their own way (grpc-go ``endpointsharding.ChildStatesFromPicker``).
    """
    return picker.child_states if isinstance(picker, EndpointShardingPicker) else None


def _counted_as(state: State) -> State:
    # AGG-7: an IDLE child is about to be told to exit IDLE, so it counts as CONNECTING.
    return State.CONNECTING if state is State.IDLE else state


class _Child(ClientConn):
    """The ClientConn one child sees: it intercepts update_state, passes the rest up."""

    def __init__(self, parent: EndpointSharding, endpoint: Endpoint) -> None:
        self._parent = parent
        self.key = endpoint.key  # fixed: children are keyed by it (RR-2)
        self.balancer: Balancer | None = None
        self.closed = False
        # Until the child first reports, it counts as connecting.
        self._record(endpoint, BalancerState(State.CONNECTING, QueuePicker()))

    def _record(self, endpoint: Endpoint, state: BalancerState) -> None:
        # The picker's view of this child, rebuilt only when the child changes: a picker
        # rebuild then copies N references instead of building N objects (README, Benchmarks).
        self.child_state = ChildState(endpoint, state, self.exit_idle, key=self.key)

    @property
    def endpoint(self) -> Endpoint:
        return self.child_state.endpoint

    @endpoint.setter
    def endpoint(self, endpoint: Endpoint) -> None:
        self._record(endpoint, self.child_state.state)

    @property
    def state(self) -> BalancerState:
        return self.child_state.state

    @state.setter
    def state(self, state: BalancerState) -> None:
        self._record(self.child_state.endpoint, state)

    def new_subconn(self, addresses: tuple[Address, ...], options: NewSubConnOptions) -> SubConn:
        return self._parent._cc.new_subconn(addresses, options)

    def update_state(self, state: BalancerState) -> None:
        self._parent._on_child_state(self, state)

    def resolve_now(self) -> None:
        if not self.closed:
            self._parent._cc.resolve_now()  # RR-14

    def exit_idle(self) -> None:
        if not self.closed and self.balancer is not None:
            self.balancer.exit_idle()

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            if self.balancer is not None:
                self.balancer.close()


class EndpointSharding(Balancer):
    """One ``child_builder`` balancer per distinct endpoint, reported as one policy."""

    def __init__(self, cc: ClientConn, options: BuildOptions, child_builder: Builder) -> None:
        self._cc = cc
        self._options = options
        self._child_builder = child_builder
        # Endpoint key -> child, in the (rotated) order of the last update.
        self._children: dict[frozenset[str], _Child] = {}
        self._holding_reports = False
        self._closed = False

    # --- Balancer API ---

    def update_client_conn_state(self, state: ClientConnState) -> None:
        resolver_state = state.resolver_state
        first_error: BadResolverStateError | None = None
        children: dict[frozenset[str], _Child] = {}
        self._holding_reports = True  # RR-10
        try:
            for endpoint in rotate_endpoints(resolver_state.endpoints, self._options.random):
                key = endpoint.key
                if key in children:
                    continue  # RR-2: a repeat of an endpoint already in this update
                child = self._children.get(key)
                if child is None:
                    child = self._build_child(endpoint)  # RR-1
                else:
                    child.endpoint = endpoint  # RR-2: same child, new address order
                children[key] = child
                child_state = ClientConnState(
                    ResolverState(
                        (endpoint,), resolver_state.resolution_note, resolver_state.attributes
                    ),
                    state.config,
                )
                try:
                    assert child.balancer is not None
                    child.balancer.update_client_conn_state(child_state)
                except BadResolverStateError as err:
                    first_error = first_error or err  # grpc-go keeps the first child error
            for key, old in self._children.items():
                if key not in children:
                    old.close()  # RR-3
            self._children = children
        finally:
            self._holding_reports = False
        self._report()
        if not children:  # RR-4
            raise BadResolverStateError(f"the resolver produced zero endpoints: {NO_CHILDREN}")
        if first_error is not None:
            raise first_error

    def resolver_error(self, error: Status) -> None:
        self._to_every_child(lambda child: child.resolver_error(error))  # RR-13

    def exit_idle(self) -> None:
        self._to_every_child(lambda child: child.exit_idle())

    def close(self) -> None:
        self._closed = True  # nothing is reported after Close (LB-3)
        for child in self._children.values():
            child.close()
        self._children = {}

    # --- children ---

    def _build_child(self, endpoint: Endpoint) -> _Child:
        child = _Child(self, endpoint)
        child.balancer = self._child_builder.build(child, self._options)
        return child

    def _to_every_child(self, call: Callable[[Balancer], None]) -> None:
        self._holding_reports = True  # RR-10
        try:
            for child in list(self._children.values()):
                if not child.closed and child.balancer is not None:
                    call(child.balancer)
        finally:
            self._holding_reports = False
        self._report()

    def _on_child_state(self, child: _Child, state: BalancerState) -> None:
        if self._closed or child.closed:
            return  # a closed child's late report changes nothing
        child.state = state
        if not self._holding_reports:
            self._report()  # RR-11
        if state.state is State.IDLE:
            self._options.run_soon(child.exit_idle)  # RR-6

    def _report(self) -> None:
        if self._closed:
            return
        child_states = tuple(c.child_state for c in self._children.values())
        if not child_states:  # RR-4, RR-13
            aggregate = State.TRANSIENT_FAILURE
            pickers: list[Picker] = [FailPicker(unavailable(NO_CHILDREN))]
        else:
            # RR-5.  The aggregate depends only on which states occur, so the distinct
            # states go in: the spec's rule then runs over at most five, not N.
            aggregate = aggregate_round_robin({c.state.state for c in child_states})
            # RR-7..RR-9: rotate over the children counted in the aggregate state: the states
            # that count as it (_counted_as) listed once, not a function call per child, which
            # was most of this report at 10,000 children (README, Benchmarks).
            counted = tuple(s for s in State if _counted_as(s) is aggregate)
            pickers = [c.state.picker for c in child_states if c.state.state in counted]
        start = self._options.random.randrange(len(pickers))
        picker = EndpointShardingPicker(pickers, child_states, start)
        self._cc.update_state(BalancerState(aggregate, picker))
