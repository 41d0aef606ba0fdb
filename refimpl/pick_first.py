"""The pick_first policy: one connection, Happy Eyeballs, sticky TRANSIENT_FAILURE.

Requirements PF-1..PF-29 (``spec/catalogue/pick_first.py``).  The behaviour is
grpc-go's (``balancer/pickfirst/pickfirst.go``), restated:

* An update builds the address list: endpoints, shuffled when configured (weighted
  by ``Endpoint.weight``, PF-5), flattened (PF-4), de-duplicated (PF-6) and
  interleaved by address family (PF-7).  An empty update is rejected (PF-2).
* A *pass* walks the list, creating one single-address SubConn at a time (PF-11).
  Each attempt with an address after it arms a 250 ms timer; when it fires the
  next address starts too (PF-12); a failure of the current address moves on at
  once (PF-13).  When every address has failed the policy reports
  TRANSIENT_FAILURE and stays there, reconnecting whatever backs off to IDLE
  (PF-14..PF-16), until some SubConn is READY.
* The first READY SubConn wins: the others are shut down and every pick goes to
  it (PF-19).  When it loses its connection the policy reports IDLE and waits for
  ExitIdle or a pick (PF-20, PF-21).
* As a leaf under a parent that set :data:`HEALTH_LISTENER_ATTRIBUTE`, it reports
  the chosen SubConn's health instead of READY (PF-26, PF-27).

Three places where this reference departs from grpc-go, all allowed by the spec:
it never repeats a CONNECTING report on a resolver update (PF-18), a pass
restarted while in sticky TRANSIENT_FAILURE never reports CONNECTING (PF-17), and
an update that removes the READY address reports IDLE, as the spec text says
(PF-10; the builder's ``selected_address_removed`` option gives grpc-go's reconnect).
Who asks for re-resolution is the builder's ``reresolution`` option (PF-28).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from typing import ClassVar, NoReturn

import attrs

from refimpl import registry
from refimpl.balancer import (
    QUEUE,
    BadResolverStateError,
    Balancer,
    BalancerState,
    Builder,
    BuildOptions,
    ClientConn,
    ClientConnState,
    Complete,
    ConfigError,
    ConfigParser,
    FailPicker,
    JsonValue,
    NewSubConnOptions,
    OptionError,
    Picker,
    PickInfo,
    PickResult,
    QueuePicker,
    RandomSource,
    ResolverState,
    SubConn,
    SubConnState,
    unavailable,
)
from refimpl.clock import Timer
from spec.catalogue.pick_first import CONNECTION_ATTEMPT_DELAY, ReresolutionMode
from spec.connectivity import State
from spec.options import SelectedAddressRemoved
from spec.types import Address, AddressFamily, Duration, Endpoint, Status, freeze_attributes

NAME = "pick_first"

# Set to True in the resolver state's attributes by a parent policy (round_robin and
# friends) that wants its pick_first children to report health (PF-26; grpc-go
# pickfirst.EnableHealthListener).
HEALTH_LISTENER_ATTRIBUTE = "pick_first.health_listener"

# gRFC A61 bounds a configured Connection Attempt Delay to [100 ms, 2 s].
_MIN_DELAY = Duration.of(millis=100)
_MAX_DELAY = Duration.of(seconds=2)


def enable_health_listener(state: ResolverState) -> ResolverState:
    """What a parent policy does to make its pick_first child watch health (PF-26)."""
    merged = dict(state.attributes)
    merged[HEALTH_LISTENER_ATTRIBUTE] = True
    return attrs.evolve(state, attributes=freeze_attributes(merged))


@attrs.frozen
class PickFirstConfig:
    """The parsed config (PF-1)."""

    shuffle_address_list: bool = attrs.field(
        default=False, validator=attrs.validators.instance_of(bool)
    )


# --- Building the address list (PF-4..PF-7) ---


def shuffle_endpoints(endpoints: Sequence[Endpoint], rng: RandomSource) -> list[Endpoint]:
    """Weighted random order: sort on u^(1/weight), largest first (PF-5; gRFC A113).

    With every weight unset (1) this is a uniform shuffle.  The sort is stable, so
    equal keys keep their resolver order.
    """
    keyed = [(rng.random() ** (1.0 / (e.weight or 1)), e) for e in endpoints]
    keyed.sort(key=lambda pair: pair[0], reverse=True)
    return [e for _, e in keyed]


def flatten(endpoints: Iterable[Endpoint]) -> list[Address]:
    """Endpoints in order, each endpoint's addresses in order (PF-4)."""
    return [address for endpoint in endpoints for address in endpoint.addresses]


def deduplicate(addresses: Iterable[Address]) -> list[Address]:
    """Keep the first occurrence of each address (PF-6).

    ``Address`` equality ignores balancer attributes, as grpc-go's does.
    """
    seen: set[Address] = set()
    kept: list[Address] = []
    for address in addresses:
        if address not in seen:
            seen.add(address)
            kept.append(address)
    return kept


def interleave_by_family(addresses: Sequence[Address]) -> list[Address]:
    """One address per family in turn, families in order of first appearance (PF-7)."""
    if len(addresses) < 2:
        # Nothing to interleave; the common case under endpoint sharding, where it skips
        # parsing the address's family (the larger part of a child's update).
        return list(addresses)
    queues: dict[AddressFamily, list[Address]] = {}
    for address in addresses:
        queues.setdefault(address.family, []).append(address)
    result: list[Address] = []
    depth = 0
    while len(result) < len(addresses):
        for queue in queues.values():
            if depth < len(queue):
                result.append(queue[depth])
        depth += 1
    return result


# --- Pickers ---


class ReadyPicker(Picker):
    """Completes every pick on the chosen SubConn (PF-19)."""

    def __init__(self, subconn: SubConn) -> None:
        self.subconn = subconn
        self._result = Complete(subconn)  # as grpc-go's picker holds one PickResult

    def pick(self, info: PickInfo) -> PickResult:
        return self._result


class IdlePicker(Picker):
    """Queues every pick; the first one asks the policy to leave IDLE (PF-20).

    The picker never calls the balancer itself: the call goes through ``run_soon``
    so that it runs on the balancer's serialised context.
    """

    def __init__(
        self, run_soon: Callable[[Callable[[], None]], None], exit_idle: Callable[[], None]
    ) -> None:
        self._run_soon = run_soon
        self._exit_idle = exit_idle
        self._lock = threading.Lock()  # picks may run concurrently
        self._kicked = False

    def pick(self, info: PickInfo) -> PickResult:
        with self._lock:
            kick, self._kicked = not self._kicked, True
        if kick:
            self._run_soon(self._exit_idle)
        return QUEUE


# --- The balancer ---


class _Entry:
    """One SubConn the policy holds, keyed by its single address."""

    __slots__ = ("address", "failed_this_pass", "last_error", "raw", "subconn")

    def __init__(self, address: Address) -> None:
        self.address = address
        self.subconn: SubConn | None = None  # set right after creation
        self.raw = State.IDLE  # the SubConn's own connectivity state
        self.failed_this_pass = False
        self.last_error: Status | None = None

    @property
    def sc(self) -> SubConn:
        assert self.subconn is not None
        return self.subconn


class PickFirstBalancer(Balancer):
    """One pick_first instance.

    Each rule is one small method named after what it does and citing its requirement;
    a planted bug (conformance/planted.py) overrides one of them, so it differs from
    this code in that one place.  ``_is_repeat`` (PF-24), ``_ignores_resolver_error``
    (PF-22) and ``_go_idle`` (PF-20) exist as methods for that reason.
    """

    def __init__(
        self,
        cc: ClientConn,
        options: BuildOptions,
        *,
        reresolution: ReresolutionMode,
        attempt_delay: Duration,
        selected_address_removed: SelectedAddressRemoved = SelectedAddressRemoved.GOES_IDLE,
    ) -> None:
        self._cc = cc
        self._selected_address_removed = selected_address_removed
        self._options = options
        self._reresolution = reresolution
        self._attempt_delay = attempt_delay
        self._reported: State | None = None  # the last state reported upward
        self._entries: dict[Address, _Entry] = {}
        self._addresses: tuple[Address, ...] = ()
        self._cursor = 0  # the address the current pass is at
        self._first_pass = False
        self._failures = 0  # TRANSIENT_FAILUREs counted while sticky (PF-16)
        self._timer: Timer | None = None
        self._health = False
        self._closed = False

    # --- Balancer API ---

    def update_client_conn_state(self, state: ClientConnState) -> None:
        if self._closed:
            return
        self._cancel_timer()
        config = state.config if state.config is not None else PickFirstConfig()
        if not isinstance(config, PickFirstConfig):
            raise BadResolverStateError(f"pick_first: received an illegal config {config!r}")
        endpoints = state.resolver_state.endpoints
        if not endpoints:
            self._reject_empty_update()
        self._health = (HEALTH_LISTENER_ATTRIBUTE, True) in state.resolver_state.attributes
        addresses = tuple(self._address_list(endpoints, config))
        previous = self._current_entry()
        was_ready = previous is not None and previous.raw is State.READY
        had_list = bool(self._addresses)
        self._addresses, self._cursor = addresses, 0
        if previous is not None and was_ready and previous.address in addresses:
            self._cursor = addresses.index(previous.address)  # PF-8: keep the connection
            return
        self._shut_down_unlisted()  # PF-9
        if was_ready and self._selected_address_removed is SelectedAddressRemoved.GOES_IDLE:
            self._go_idle()  # PF-10 (the spec text; grpc-go reconnects at once instead)
        elif was_ready or self._reported is State.CONNECTING or not had_list:
            self._report(State.CONNECTING, QueuePicker())  # PF-10, PF-3
            self._start_pass()
        elif self._reported is State.TRANSIENT_FAILURE:
            self._start_pass()  # PF-10: sticky, so no report (A62)
        # IDLE: the next ExitIdle or pick starts a pass over the new list (PF-10).

    def resolver_error(self, error: Status) -> None:
        if self._closed or self._ignores_resolver_error():
            return
        self._report(
            State.TRANSIENT_FAILURE,
            FailPicker(unavailable(f"name resolver error: {error.message}")),
        )

    def _ignores_resolver_error(self) -> bool:
        """PF-22: with a good list and not failing, keep using the last good list."""
        return self._reported is not State.TRANSIENT_FAILURE and bool(self._addresses)

    def exit_idle(self) -> None:
        if self._closed or self._reported is not State.IDLE:
            return  # PF-21
        self._report(State.CONNECTING, QueuePicker())
        self._start_pass()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._cancel_timer()  # PF-23
        for entry in list(self._entries.values()):
            entry.sc.shutdown()
        self._entries.clear()

    # --- Resolver updates ---

    def _reject_empty_update(self) -> NoReturn:
        """PF-2: drop everything, fail picks, tell the resolver."""
        for entry in list(self._entries.values()):
            entry.sc.shutdown()
        self._entries.clear()
        self._addresses, self._cursor = (), 0
        message = "name resolver error: produced zero addresses"
        self._report(State.TRANSIENT_FAILURE, FailPicker(unavailable(message)))
        raise BadResolverStateError(message)

    def _ordered_endpoints(
        self, endpoints: Sequence[Endpoint], config: PickFirstConfig
    ) -> list[Endpoint]:
        """The endpoints in connection order: shuffled only when the config asks (PF-5)."""
        if config.shuffle_address_list:
            return shuffle_endpoints(endpoints, self._options.random)
        return list(endpoints)

    def _address_list(
        self, endpoints: Sequence[Endpoint], config: PickFirstConfig
    ) -> list[Address]:
        return interleave_by_family(
            deduplicate(flatten(self._ordered_endpoints(endpoints, config)))
        )

    def _shut_down_unlisted(self) -> None:
        listed = set(self._addresses)
        for address, entry in list(self._entries.items()):
            if address not in listed:
                entry.sc.shutdown()
                del self._entries[address]

    # --- Passes (Happy Eyeballs) ---

    def _start_pass(self) -> None:
        self._first_pass = True
        self._failures = 0
        for entry in self._entries.values():
            entry.failed_this_pass = False
        self._connect_from_cursor()

    def _connect_from_cursor(self) -> None:
        """Walk from the cursor to the first address that needs waiting on (PF-11)."""
        last_error: Status | None = None
        while self._cursor < len(self._addresses):
            entry = self._entry_for(self._addresses[self._cursor])
            if entry.raw is State.IDLE:
                entry.sc.connect()
                self._arm_timer()
                return
            if entry.raw is State.CONNECTING:
                self._arm_timer()  # wait on the attempt already running
                return
            if entry.raw is not State.TRANSIENT_FAILURE:
                return  # READY cannot be met here: it would have been chosen
            entry.failed_this_pass = True  # in backoff: counts as tried (gRFC A61)
            last_error = entry.last_error
            self._cursor += 1
        self._end_first_pass_if_done(last_error)

    def _entry_for(self, address: Address) -> _Entry:
        entry = self._entries.get(address)
        if entry is None:
            entry = _Entry(address)
            options = NewSubConnOptions(
                state_listener=lambda state: self._on_subconn_state(entry, state),
                health_listener=self._health,
            )
            entry.subconn = self._cc.new_subconn((address,), options)
            self._entries[address] = entry
        return entry

    def _arm_timer(self) -> None:
        """PF-12: give the attempt 250 ms before the next address starts too."""
        self._cancel_timer()
        if self._cursor + 1 < len(self._addresses):
            self._timer = self._options.clock.call_later(self._attempt_delay, self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        if self._closed or self._cursor >= len(self._addresses):
            return
        self._cursor += 1
        if self._cursor < len(self._addresses):
            self._connect_from_cursor()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _end_first_pass_if_done(self, error: Status | None) -> None:
        """PF-14, PF-15: TRANSIENT_FAILURE once the pass is over and everything failed."""
        if self._cursor < len(self._addresses):
            return
        if not all(entry.failed_this_pass for entry in self._entries.values()):
            return
        self._first_pass = False
        self._report_connection_failure(error)
        for entry in list(self._entries.values()):
            if entry.raw is State.IDLE:
                entry.sc.connect()

    def _report_connection_failure(self, error: Status | None) -> None:
        detail = str(error) if error is not None else "connection failed"
        self._report(State.TRANSIENT_FAILURE, FailPicker(unavailable(detail)))
        self._request_reresolution()  # PF-28

    # --- SubConn notifications ---

    def _is_current(self, entry: _Entry) -> bool:
        return not self._closed and self._entries.get(entry.address) is entry

    def _on_subconn_state(self, entry: _Entry, update: SubConnState) -> None:
        if not self._is_current(entry):
            return  # PF-25
        previous, entry.raw = entry.raw, update.state
        if update.state is State.SHUTDOWN:
            return
        if update.state is State.TRANSIENT_FAILURE:
            entry.failed_this_pass = True
            entry.last_error = update.error
        if update.state is State.READY:
            self._choose(entry)
        elif previous is State.READY or (
            previous is State.CONNECTING and update.state is State.IDLE
        ):
            self._lose(entry)  # grpc-go issue 7862: CONNECTING -> IDLE counts as lost too
        elif self._first_pass:
            self._on_state_in_first_pass(entry, update)
        else:
            self._on_state_while_sticky(entry, update)

    def _on_state_in_first_pass(self, entry: _Entry, update: SubConnState) -> None:
        if update.state is State.CONNECTING:
            if self._reported is not State.TRANSIENT_FAILURE:
                self._report(State.CONNECTING, QueuePicker())  # sticky TF stays (PF-16)
        elif update.state is State.TRANSIENT_FAILURE:
            if self._is_at(entry):
                self._cancel_timer()  # PF-13
                self._cursor += 1
                if self._cursor < len(self._addresses):
                    self._connect_from_cursor()
                    return
            self._end_first_pass_if_done(update.error)
        # IDLE after backoff: wait until the pass is over (PF-14).

    def _on_state_while_sticky(self, entry: _Entry, update: SubConnState) -> None:
        if update.state is State.TRANSIENT_FAILURE:
            self._failures = (self._failures + 1) % len(self._entries)
            if self._failures == 0:
                self._report_connection_failure(update.error)  # PF-16
        elif update.state is State.IDLE:
            entry.sc.connect()  # PF-16: keep trying

    def _is_at(self, entry: _Entry) -> bool:
        return (
            self._cursor < len(self._addresses) and self._addresses[self._cursor] == entry.address
        )

    def _current_entry(self) -> _Entry | None:
        if self._cursor >= len(self._addresses):
            return None
        return self._entries.get(self._addresses[self._cursor])

    def _choose(self, chosen: _Entry) -> None:
        """PF-19 (and PF-27 when watching health)."""
        self._cancel_timer()
        self._shut_down_all_but(chosen)
        self._cursor = self._addresses.index(chosen.address)
        if not self._health:
            self._report(State.READY, ReadyPicker(chosen.sc))
            return
        self._report(State.CONNECTING, QueuePicker())
        chosen.sc.register_health_listener(lambda health: self._on_health(chosen, health))

    def _lose(self, lost: _Entry) -> None:
        """PF-20: go IDLE; the next pick or ExitIdle starts over from the first address."""
        self._cancel_timer()
        self._shut_down_all_but(lost)
        self._cursor = 0
        self._go_idle()
        self._request_reresolution(lost_connection=True)  # PF-28

    def _go_idle(self) -> None:
        """PF-20: report IDLE with a picker whose first pick asks to exit IDLE."""
        self._report(State.IDLE, IdlePicker(self._options.run_soon, self.exit_idle))

    def _shut_down_all_but(self, kept: _Entry) -> None:
        for address, entry in list(self._entries.items()):
            if entry is not kept:
                entry.sc.shutdown()
                del self._entries[address]

    def _on_health(self, entry: _Entry, health: SubConnState) -> None:
        """PF-27: as a leaf, the chosen SubConn's health is the policy's state."""
        if not self._is_current(entry):
            return  # PF-25
        if health.state is State.READY:
            self._report(State.READY, ReadyPicker(entry.sc))
        elif health.state is State.TRANSIENT_FAILURE:
            message = f"pickfirst: health check failure: {health.error}"
            self._report(State.TRANSIENT_FAILURE, FailPicker(unavailable(message)))
        elif health.state is State.CONNECTING:
            self._report(State.CONNECTING, QueuePicker())

    # --- Reporting ---

    def _report(self, state: State, picker: Picker) -> None:
        """PF-24: no repeated report, except TRANSIENT_FAILURE (its error may change)."""
        if self._is_repeat(state):
            return
        self._reported = state
        self._cc.update_state(BalancerState(state, picker))

    def _is_repeat(self, state: State) -> bool:
        return state is self._reported and state is not State.TRANSIENT_FAILURE

    def _request_reresolution(self, *, lost_connection: bool = False) -> None:
        # PF-28: SPEC_TEXT asks every time; GRPC_JS only after connection failures
        # (its channel re-resolves on leaving IDLE); GRPC_GO never (its SubConn does).
        mode = self._reresolution
        if mode is ReresolutionMode.SPEC_TEXT or (
            mode is ReresolutionMode.GRPC_JS and not lost_connection
        ):
            self._cc.resolve_now()


class PickFirstBuilder(Builder, ConfigParser):
    """Builds pick_first balancers; parses ``{"shuffleAddressList": bool}`` (PF-1)."""

    name = NAME
    balancer_type: ClassVar[type[PickFirstBalancer]] = PickFirstBalancer

    def __init__(
        self,
        reresolution: ReresolutionMode = ReresolutionMode.SPEC_TEXT,
        *,
        attempt_delay: Duration = CONNECTION_ATTEMPT_DELAY,
        selected_address_removed: SelectedAddressRemoved = SelectedAddressRemoved.GOES_IDLE,
    ) -> None:
        if not isinstance(reresolution, ReresolutionMode):
            raise OptionError(f"reresolution must be a ReresolutionMode, got {reresolution!r}")
        if not isinstance(attempt_delay, Duration) or not (
            _MIN_DELAY <= attempt_delay <= _MAX_DELAY
        ):
            raise OptionError(
                f"attempt_delay must be a Duration in [100ms, 2s] (gRFC A61), got {attempt_delay!r}"
            )
        # Default: the language-neutral text, because the driver's subchannels never
        # re-resolve by themselves as grpc-go's do.
        self.reresolution = reresolution
        self.attempt_delay = attempt_delay
        if not isinstance(selected_address_removed, SelectedAddressRemoved):
            raise OptionError(f"selected_address_removed: got {selected_address_removed!r}")
        # Default: the spec text (PF-10); RECONNECTS is grpc-go's choice.
        self.selected_address_removed = selected_address_removed

    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        return self.balancer_type(
            cc,
            options,
            reresolution=self.reresolution,
            attempt_delay=self.attempt_delay,
            selected_address_removed=self.selected_address_removed,
        )

    def parse_config(self, config: JsonValue) -> PickFirstConfig:
        if not isinstance(config, dict):
            raise ConfigError(NAME, f"the config must be a JSON object, got {config!r}")
        shuffle = config.get("shuffleAddressList")
        if shuffle is None:  # absent or null: the default (Go's json leaves it false)
            return PickFirstConfig()
        if not isinstance(shuffle, bool):
            raise ConfigError("shuffleAddressList", f"must be a boolean, got {shuffle!r}")
        return PickFirstConfig(shuffle_address_list=shuffle)


registry.register(PickFirstBuilder())
