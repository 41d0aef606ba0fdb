"""The base balancer: one SubConn per address, a picker over the READY ones.

A re-statement of grpc-go ``balancer/base`` (``base.go``: ``PickerBuilder``,
``PickerBuildInfo``, ``SubConnInfo``, ``Config``, ``NewBalancerBuilder``;
``balancer.go``: ``baseBalancer``).  A policy built on it supplies only a
:class:`PickerBuilder`; see ``refimpl/examples/custom_policy.py``.  Requirement
IDs in ``spec/catalogue/service_config.py`` (area BASE):

* Every distinct address of the update gets one SubConn, which is asked to
  connect at once; addresses no longer listed have their SubConn shut down
  (BASE-1, BASE-2).
* An update with no address is rejected (:class:`BadResolverStateError`) and
  recorded as the resolver error "produced zero addresses" (BASE-3).
* The reported state is the aggregate of the SubConn states (the normal rule,
  through :class:`ConnectivityStateEvaluator`), except that once a SubConn is in
  TRANSIENT_FAILURE its later CONNECTING and IDLE do not count: it stays
  TRANSIENT_FAILURE for aggregation until it becomes READY, so many failing
  backends do not hold the policy in CONNECTING (BASE-4).  A SubConn reporting
  IDLE is asked to connect again, in either case (BASE-5).
* The picker is rebuilt from the READY SubConns on every update, and after a
  SubConn state change when the set of READY SubConns changed or the policy is
  in TRANSIENT_FAILURE; in TRANSIENT_FAILURE it fails picks with
  "last connection error: X; last resolver error: Y" (BASE-6, BASE-7).
* Every update and every SubConn state change is followed by one report of the
  state and the current picker; a resolver error is reported only when the
  policy is (or, with no SubConns, becomes) TRANSIENT_FAILURE (BASE-8).

Where the sans-IO resolver differs from grpc-go's: grpc-go's ``resolver.State`` has
a flat ``Addresses`` list, which is what base reads; here the resolver gives
endpoints, and base uses every address of every endpoint, in order, each distinct
address once (grpc-go ``AddressMapV2``: address identity ignores
``BalancerAttributes``).  A removed SubConn is forgotten when its final SHUTDOWN
update arrives, after the update that removed it.
"""

from __future__ import annotations

import abc
import types
from collections.abc import Mapping

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
    QueuePicker,
    SubConn,
    SubConnState,
    unavailable,
)
from refimpl.connectivity_evaluator import ConnectivityStateEvaluator
from spec.connectivity import State
from spec.types import Address, Status

ZERO_ADDRESSES = "produced zero addresses"  # grpc-go base: the resolver error it records


@attrs.frozen
class SubConnInfo:
    """What the picker builder learns about a READY SubConn (grpc-go ``base.SubConnInfo``)."""

    address: Address  # the address the SubConn was created for


def _read_only(value: Mapping[SubConn, SubConnInfo]) -> Mapping[SubConn, SubConnInfo]:
    return types.MappingProxyType(dict(value))


@attrs.frozen
class PickerBuildInfo:
    """Input to :meth:`PickerBuilder.build` (grpc-go ``base.PickerBuildInfo``).

    ``ready`` maps every READY SubConn to its info, in resolver address order.
    """

    ready: Mapping[SubConn, SubConnInfo] = attrs.field(converter=_read_only, eq=False)


class PickerBuilder(abc.ABC):
    """Makes the picker from the READY SubConns (grpc-go ``base.PickerBuilder``)."""

    @abc.abstractmethod
    def build(self, info: PickerBuildInfo) -> Picker: ...


@attrs.frozen
class BaseConfig:
    """grpc-go ``base.Config``.

    ``health_check``: watch each SubConn's health (gRFC A17) and treat a READY
    SubConn as being in its health state.  grpc-go's ``HealthCheckEnabled`` had
    the channel fold health into the connectivity state; this API delivers health
    to a listener instead, so base folds it in itself.
    """

    health_check: bool = False


class BaseBuilder(Builder):
    """Builds base balancers with one picker builder (grpc-go ``base.NewBalancerBuilder``)."""

    def __init__(
        self, name: str, picker_builder: PickerBuilder, config: BaseConfig | None = None
    ) -> None:
        self.name = name
        self.picker_builder = picker_builder
        self.config = config if config is not None else BaseConfig()

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        return BaseBalancer(cc, options, self.picker_builder, self.config)


@attrs.define
class _Entry:
    """One SubConn: its address, the state base counts, and its raw connectivity."""

    address: Address
    counted: State = State.IDLE  # what aggregation sees (sticky TF, health folded in)
    connectivity: State = State.IDLE


class BaseBalancer(Balancer):
    """grpc-go ``baseBalancer``."""

    def __init__(
        self,
        cc: ClientConn,
        options: BuildOptions,
        picker_builder: PickerBuilder,
        config: BaseConfig,
    ) -> None:
        self.cc = cc
        self.options = options
        self.picker_builder = picker_builder
        self.config = config
        self.evaluator = ConnectivityStateEvaluator()
        self.state = (
            State.CONNECTING
        )  # grpc-go starts here and re-evaluates only on SubConn changes
        self.picker: Picker = QueuePicker()
        self.by_address: dict[Address, SubConn] = {}
        self.entries: dict[SubConn, _Entry] = {}  # also removed SubConns until forgotten
        self.resolver_error_text: str | None = None  # cleared by a good update
        self.connection_error: Status | None = None  # the last TF error of any SubConn
        self.closed = False

    # --- updates from the channel ---

    def update_client_conn_state(self, state: ClientConnState) -> None:
        self.resolver_error_text = None
        listed: dict[Address, None] = {}
        for endpoint in state.resolver_state.endpoints:
            for address in endpoint.addresses:
                listed.setdefault(address, None)
        for address in listed:
            if address not in self.by_address:  # BASE-1
                self._add(address)
        for address, sc in list(self.by_address.items()):
            if address not in listed:  # BASE-2
                sc.shutdown()  # forgotten at its SHUTDOWN update (_forget)
                del self.by_address[address]
        if not listed:  # BASE-3
            self._record_resolver_error(ZERO_ADDRESSES)
            raise BadResolverStateError(ZERO_ADDRESSES)
        self._regenerate_picker()  # BASE-6
        self._report()

    def _add(self, address: Address) -> None:
        box: list[SubConn] = []

        def listener(state: SubConnState) -> None:
            self._on_connectivity(box[0], state)

        sc = self.cc.new_subconn(
            (address,), NewSubConnOptions(listener, health_listener=self.config.health_check)
        )
        box.append(sc)
        self.by_address[address] = sc
        self.entries[sc] = _Entry(address)
        self.evaluator.record_transition(None, State.IDLE)
        sc.connect()  # BASE-1: connect at once

    def resolver_error(self, error: Status) -> None:
        self._record_resolver_error(error.message or str(error))

    def _record_resolver_error(self, text: str) -> None:
        self.resolver_error_text = text
        if not self.by_address:
            self.state = State.TRANSIENT_FAILURE
        if self.state is not State.TRANSIENT_FAILURE:
            return  # BASE-8: the picker does not change
        self._regenerate_picker()
        self._report()

    def exit_idle(self) -> None:
        """Nothing to do: base keeps every SubConn connected (grpc-go ``ExitIdle``)."""

    def close(self) -> None:
        # grpc-go's base leaves this to the graceful switch wrapper; here the policy
        # itself shuts its SubConns down (LB-3).
        self.closed = True
        for sc in self.entries:
            sc.shutdown()

    # --- SubConn state ---

    def _on_connectivity(self, sc: SubConn, state: SubConnState) -> None:
        if state.state is State.SHUTDOWN:
            self._forget(sc)
            return
        entry = self.entries.get(sc)
        if entry is None or self.closed:
            return
        entry.connectivity = state.state
        if self.config.health_check and state.state is State.READY:
            # Health decides from here on; until the first health report, still connecting.
            sc.register_health_listener(lambda health: self._on_health(sc, health))
            self._on_counted_state(sc, entry, SubConnState(State.CONNECTING))
            return
        self._on_counted_state(sc, entry, state)

    def _on_health(self, sc: SubConn, health: SubConnState) -> None:
        entry = self.entries.get(sc)
        if entry is None or self.closed or entry.connectivity is not State.READY:
            return
        self._on_counted_state(sc, entry, health)

    def _on_counted_state(self, sc: SubConn, entry: _Entry, state: SubConnState) -> None:
        new, old = state.state, entry.counted
        if new is old and new is not State.TRANSIENT_FAILURE:
            return  # only health folding can repeat a state; nothing changed
        if old is State.TRANSIENT_FAILURE and new in (State.CONNECTING, State.IDLE):
            # BASE-4: sticky TF for aggregation; BASE-5: IDLE still reconnects.
            if new is State.IDLE:
                sc.connect()
            return
        entry.counted = new
        if new is State.IDLE:
            sc.connect()  # BASE-5
        elif new is State.TRANSIENT_FAILURE and state.error is not None:
            self.connection_error = state.error
        self.state = self.evaluator.record_transition(old, new)
        # BASE-6: rebuild when READY membership changed, or in TF (the error may be new).
        if (new is State.READY) != (old is State.READY) or self.state is State.TRANSIENT_FAILURE:
            self._regenerate_picker()
        self._report()  # BASE-8

    def _forget(self, sc: SubConn) -> None:
        """The removed SubConn is gone: stop counting it (its SHUTDOWN update)."""
        entry = self.entries.pop(sc, None)
        if entry is None or self.closed:
            return
        self.state = self.evaluator.record_transition(entry.counted, None)
        if entry.counted is State.READY or self.state is State.TRANSIENT_FAILURE:
            self._regenerate_picker()
        self._report()

    # --- pickers ---

    def _merged_errors(self) -> str:
        """grpc-go ``mergeErrors``: the last connection error and the last resolver error."""
        error = self.connection_error
        conn = None if error is None else (error.message or str(error))
        if conn is None:
            # grpc-go prints a nil resolver error as "<nil>"; kept for fidelity.
            return f"last resolver error: {self.resolver_error_text or '<nil>'}"
        if self.resolver_error_text is None:
            return f"last connection error: {conn}"
        return f"last connection error: {conn}; last resolver error: {self.resolver_error_text}"

    def _regenerate_picker(self) -> None:
        if self.state is State.TRANSIENT_FAILURE:  # BASE-7
            self.picker = FailPicker(unavailable(self._merged_errors()))
            return
        ready = {
            sc: SubConnInfo(self.entries[sc].address)
            for sc in self.by_address.values()
            if self.entries[sc].counted is State.READY
        }
        self.picker = self.picker_builder.build(PickerBuildInfo(ready))

    def _report(self) -> None:
        self.cc.update_state(BalancerState(self.state, self.picker))
