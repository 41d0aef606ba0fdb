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

import threading
from collections.abc import Callable, Sequence
from typing import ClassVar

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
    OptionError,
    Picker,
    PickInfo,
    PickResult,
    QueuePicker,
    RandomSource,
    ResolverState,
    SubConn,
    unavailable,
)
from spec.connectivity import State, aggregate
from spec.options import FailureError, RepeatedEndpoint
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


class EndpointShardingPicker(Picker):
    """Round-robins over child pickers from ``start`` (RR-7); concurrent picks are safe (RR-16).

    grpc-go's picker adds one to an atomic counter and picks ``pickers[next % len]``;
    here a lock guards the index.  The picker itself is immutable apart from that
    index: the policy builds a new one for every report and the channel swaps it whole.
    """

    def __init__(
        self, pickers: Sequence[Picker], child_states: tuple[ChildState, ...], start: int
    ) -> None:
        if not pickers:
            raise OptionError("EndpointShardingPicker needs at least one child picker")
        self._pickers = tuple(pickers)
        self.child_states = child_states
        self._next = start % len(self._pickers)
        self._lock = threading.Lock()

    def pick(self, info: PickInfo) -> PickResult:
        with self._lock:
            index = self._next
            self._next = (index + 1) % len(self._pickers)
        return self._pickers[index].pick(info)


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


class _Child(ClientConn):
    """The ClientConn one child sees: it intercepts update_state, passes the rest up."""

    def __init__(self, parent: EndpointSharding, endpoint: Endpoint) -> None:
        self._parent = parent
        self.key = endpoint.key  # fixed: children are keyed by it (RR-2)
        self.balancer: Balancer | None = None
        self.closed = False
        # Until the child first reports, it counts as connecting.
        self.child_state = ChildState(
            endpoint, BalancerState(State.CONNECTING, QueuePicker()), self.exit_idle, key=self.key
        )

    # The picker's view of this child is kept as a ChildState, replaced when the child
    # changes, so that a report reuses it instead of building one per child.

    @property
    def endpoint(self) -> Endpoint:
        return self.child_state.endpoint

    @endpoint.setter
    def endpoint(self, endpoint: Endpoint) -> None:
        self.child_state = attrs.evolve(self.child_state, endpoint=endpoint)

    @property
    def state(self) -> BalancerState:
        return self.child_state.state

    @state.setter
    def state(self, state: BalancerState) -> None:
        self.child_state = attrs.evolve(self.child_state, state=state)

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
    """One ``child_builder`` balancer per distinct endpoint, reported as one policy.

    Each rule is one small method (``_counted_as``, ``_pickers_to_rotate``,
    ``_close_removed``, ``_exit_idle_soon``) and the picker is ``picker_type``, so a
    planted bug (conformance/planted.py) replaces exactly one of them and differs from
    this code in that one place.
    """

    picker_type: ClassVar[type[EndpointShardingPicker]] = EndpointShardingPicker

    def __init__(
        self,
        cc: ClientConn,
        options: BuildOptions,
        child_builder: Builder,
        failure_error: FailureError = FailureError.ROTATING_CHILDREN,
        repeated_endpoint: RepeatedEndpoint = RepeatedEndpoint.FIRST_WINS,
    ) -> None:
        if repeated_endpoint is RepeatedEndpoint.EVERY_COPY:
            raise OptionError(
                "endpoint sharding keeps one child per distinct endpoint (RR-2): "
                "round_robin.repeated_endpoint=every_copy is not followed"
            )
        self._cc = cc
        self._options = options
        self._child_builder = child_builder
        # RR-9: which error picks fail with in TRANSIENT_FAILURE (round_robin.failure_error):
        # grpc-go's rotation unless a case asks for the text's most recent failure.
        self.failure_error = failure_error
        # RR-2 (round_robin.repeated_endpoint): grpc-go skips a repeat after the rotation
        # (first_wins); a case may ask for grpc-java's last_wins.
        self.repeated_endpoint = repeated_endpoint
        self._last_failed: _Child | None = None  # the child that last reported a failure
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
            endpoints = resolver_state.endpoints
            if self.repeated_endpoint is RepeatedEndpoint.LAST_WINS:
                # RR-2 under last_wins: a later repeat replaces the earlier one's addresses,
                # in the earlier one's place, before the rotation (grpc-java
                # MultiChildLoadBalancer.java:87-99, a map keyed by the address set).
                last = {e.key: e for e in endpoints}
                endpoints = tuple(last[key] for key in dict.fromkeys(e.key for e in endpoints))
            for endpoint in rotate_endpoints(endpoints, self._options.random):
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
                    self._close_removed(old)
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

    def _close_removed(self, child: _Child) -> None:
        """RR-3: the child of an endpoint the update removed is closed."""
        child.close()

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
        if state.state is State.TRANSIENT_FAILURE:
            self._last_failed = child  # RR-9 (failure_error=most_recent)
        if not self._holding_reports:
            self._report()  # RR-11
        if state.state is State.IDLE:
            self._exit_idle_soon(child)

    def _exit_idle_soon(self, child: _Child) -> None:
        """RR-6: a child that reported IDLE is asked to exit IDLE, outside this call."""
        self._options.run_soon(child.exit_idle)

    def _counted_as(self, state: State) -> State:
        """AGG-7, RR-5: an IDLE child is about to be told to exit IDLE: it counts as CONNECTING."""
        return State.CONNECTING if state is State.IDLE else state

    def _pickers_to_rotate(
        self, child_states: Sequence[ChildState], aggregate_state: State
    ) -> list[Picker]:
        """RR-7..RR-9: the pickers of the children counted in the aggregate state."""
        return [
            c.state.picker
            for c in child_states
            if self._counted_as(c.state.state) is aggregate_state
        ]

    def _most_recent_failure(self) -> Picker | None:
        """RR-9 under failure_error=most_recent: the picker of the child that last reported
        TRANSIENT_FAILURE, while it still does; None under rotating_children (grpc-go)."""
        last = self._last_failed
        if self.failure_error is not FailureError.MOST_RECENT or last is None:
            return None
        if last not in self._children.values() or last.state.state is not State.TRANSIENT_FAILURE:
            return None
        return last.state.picker

    def _report(self) -> None:
        if self._closed:
            return
        child_states = tuple(c.child_state for c in self._children.values())
        if not child_states:  # RR-4, RR-13
            state = State.TRANSIENT_FAILURE
            pickers: list[Picker] = [FailPicker(unavailable(NO_CHILDREN))]
        else:
            state = aggregate(self._counted_as(c.state.state) for c in child_states)  # RR-5
            pickers = self._pickers_to_rotate(child_states, state)
            recent = self._most_recent_failure()
            if state is State.TRANSIENT_FAILURE and recent is not None:
                pickers = [recent]  # RR-9 (failure_error=most_recent)
        start = self._options.random.randrange(len(pickers))
        picker = self.picker_type(pickers, child_states, start)
        self._cc.update_state(BalancerState(state, picker))
