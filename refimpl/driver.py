"""The driver: a sans-IO channel that runs one balancer on spec inputs.

It plays the channel's part of the balancer boundary.  Each
:meth:`Driver.step` takes one input from :mod:`spec.events`, makes the
balancer calls it stands for, runs every follow-up the balancer queued (timers,
``run_soon`` work, health READY delivery) until quiet, and returns the outputs
(:mod:`spec.actions`) in the order the balancer produced them.  Tests, the
Hypothesis state machines and the in-process conformance adapter all use it, so
a trace from any of them can be replayed: the clock is virtual and the random
source is seeded.

What the driver enforces as "the channel" (inputs that break these raise
:class:`DriverError`, they are not balancer bugs):

* subchannel state changes follow the transition table of the profile in
  force, start from IDLE, and leave IDLE only after the balancer called
  ``connect()`` there (CONN-1, CONN-2, CONN-11);
* shut-down subchannels get no more notifications (CONN-8) but one: the final
  SHUTDOWN update to the state listener, queued when the balancer shuts the
  subchannel down, as grpc-go's channel delivers it (balancer/subconn.go:73-79);
* health updates go only to a registered health listener of a READY
  subchannel; without client-side health checking configured the driver
  delivers health READY itself right after registration, as grpc-go's channel
  does (gRFC A17; grpc-go balancer_wrapper.go);
* ``Done`` names a pick that completed and is not done yet.

For a builder with a config parser, the driver also plays the channel's part in
parsing configs: an invalid one fails the channel or is ignored, as grpc-go's
``clientconn.go`` does (SC-10, SC-11, SC-14; see ``_on_resolver_update``).  Whether a
resolver error before any config puts the default config in force is the spec option
``service_config.resolver_error_before_config`` (``Driver(resolver_error_before_config=)``):
grpc-go's ``default_config`` unless told otherwise.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import refimpl.builtin  # noqa: F401  (registers the built-in policies)
from refimpl import registry
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
    ConfigError,
    ConfigParser,
    DoneInfo,
    Drop,
    Fail,
    FailPicker,
    HealthListener,
    NewSubConnOptions,
    OobListener,
    Picker,
    PickInfo,
    Queue,
    ResolverState,
    SubConn,
    SubConnState,
    seeded_random,
    unavailable,
)
from refimpl.clock import VirtualClock
from spec import actions as act
from spec import events as ev
from spec.connectivity import Profile, State, is_legal
from spec.options import ResolverErrorBeforeConfig
from spec.types import Address, Duration

# A step that keeps queuing work forever is a balancer bug; stop and say so.
MAX_FOLLOW_UPS = 100_000


class DriverError(BalancerError):
    """An input that the channel could not have produced in the current state."""


class FakeSubConn(SubConn):
    """A subchannel whose state the driver's inputs decide."""

    def __init__(
        self, driver: Driver, ident: int, addresses: tuple[Address, ...], opts: NewSubConnOptions
    ) -> None:
        self._driver = driver
        self.ident = ident
        self._addresses = addresses
        self.options = opts
        self.state = State.IDLE
        self.connect_requested = False
        self.health_listener: HealthListener | None = None
        self.oob_listeners: list[OobListener] = []

    @property
    def addresses(self) -> tuple[Address, ...]:
        return self._addresses

    def connect(self) -> None:
        self._driver._emit(act.Connect(self.ident))
        if self.state is State.IDLE:  # CONN-11: a no-op in any other state
            self.connect_requested = True

    def shutdown(self) -> None:
        if self.state is State.SHUTDOWN:
            return  # grpc-go: a second Shutdown is a no-op
        self._driver._emit(act.Shutdown(self.ident))
        self.state = State.SHUTDOWN
        self.health_listener = None
        self.oob_listeners.clear()
        listener = self.options.state_listener
        self._driver._run_soon(lambda: listener(SubConnState(State.SHUTDOWN)))

    def register_health_listener(self, listener: HealthListener) -> None:
        if self.state is not State.READY:
            raise DriverError(
                f"subchannel {self.ident}: health listener registered while {self.state.name}"
            )
        self.health_listener = listener
        if not self._driver.health_checking:
            # No client-side health checking configured: the channel reports READY at once.
            self._driver._run_soon(
                lambda: self._deliver_health(SubConnState(State.READY), listener)
            )

    def _deliver_health(self, state: SubConnState, listener: HealthListener) -> None:
        if self.health_listener is listener and self.state is State.READY:
            listener(state)

    def register_oob_listener(
        self, listener: OobListener, interval: Duration
    ) -> Callable[[], None]:
        self.oob_listeners.append(listener)

        def stop() -> None:
            if listener in self.oob_listeners:
                self.oob_listeners.remove(listener)

        return stop

    def __repr__(self) -> str:
        return f"FakeSubConn({self.ident}, {[a.addr for a in self._addresses]}, {self.state.name})"


class _DriverClientConn(ClientConn):
    def __init__(self, driver: Driver) -> None:
        self._driver = driver

    def new_subconn(self, addresses: tuple[Address, ...], options: NewSubConnOptions) -> SubConn:
        return self._driver._new_subconn(addresses, options)

    def update_state(self, state: BalancerState) -> None:
        self._driver._update_state(state)

    def resolve_now(self) -> None:
        self._driver._emit(act.RequestReresolution())


class Driver:
    """Runs one balancer of ``policy`` on spec inputs, deterministically for a ``seed``."""

    def __init__(
        self,
        policy: str | Builder,
        *,
        seed: int = 0,
        health_checking: bool = False,
        profile: Profile = Profile.CURRENT,
        resolver_error_before_config: ResolverErrorBeforeConfig = (
            ResolverErrorBeforeConfig.DEFAULT_CONFIG
        ),
    ) -> None:
        builder = registry.get(policy) if isinstance(policy, str) else policy
        if builder is None:
            raise DriverError(f"no balancer registered as {policy!r}; known: {registry.names()}")
        self.builder = builder
        self.health_checking = health_checking
        self.profile = profile
        self.clock = VirtualClock()
        self.random = seeded_random(seed)
        self.subconns: dict[int, FakeSubConn] = {}
        self.picker: Picker | None = None
        self.state = State.IDLE  # the channel's state: the last one the balancer reported
        self.closed = False
        self._good_config: Any = None
        self._has_good_config = False
        self.resolver_error_before_config = resolver_error_before_config  # SC-14
        self._outputs: list[act.Output] = []
        self._pending: deque[Callable[[], None]] = deque()
        self._picks: dict[int, Callable[[DoneInfo], None] | None] = {}
        self._done_picks: set[int] = set()
        options = BuildOptions(clock=self.clock, random=self.random, run_soon=self._run_soon)
        self.balancer: Balancer = builder.build(_DriverClientConn(self), options)

    # --- the public face ---

    def step(self, event: ev.Input) -> tuple[act.Output, ...]:
        """Feed one input; return every output it caused, in order."""
        if self.closed:
            raise DriverError(f"{type(event).__name__} after Close")
        self._outputs = []
        handler = self._HANDLERS.get(type(event))
        if handler is None:
            raise DriverError(f"not an input event: {event!r}")
        self._serialised(lambda: handler(self, event))
        outputs, self._outputs = tuple(self._outputs), []
        return outputs

    def live_subchannels(self) -> Iterator[FakeSubConn]:
        return (sc for sc in self.subconns.values() if sc.state is not State.SHUTDOWN)

    # --- follow-up work, as the channel's serialiser would run it ---

    def _run_soon(self, fn: Callable[[], None]) -> None:
        self._pending.append(fn)

    def _serialised(self, fn: Callable[[], None]) -> None:
        fn()
        for _ in range(MAX_FOLLOW_UPS):
            if not self._pending:
                return
            self._pending.popleft()()
        raise DriverError(f"the balancer kept queuing work: more than {MAX_FOLLOW_UPS} follow-ups")

    def _emit(self, output: act.Output) -> None:
        self._outputs.append(output)

    # --- ClientConn side ---

    def _new_subconn(self, addresses: tuple[Address, ...], options: NewSubConnOptions) -> SubConn:
        if self.closed:
            raise DriverError("new_subconn after Close")
        ident = len(self.subconns) + 1
        sc = FakeSubConn(self, ident, tuple(addresses), options)
        self.subconns[ident] = sc
        self._emit(act.NewSubchannel(ident, sc.addresses, options.health_listener))
        return sc

    def _update_state(self, state: BalancerState) -> None:
        self.state = state.state
        self.picker = state.picker
        self._emit(act.UpdateState(state.state))

    # --- input handlers ---

    def _subconn(self, ident: int, what: str) -> FakeSubConn:
        sc = self.subconns.get(ident)
        if sc is None:
            raise DriverError(f"{what}: no subchannel {ident} was created")
        if sc.state is State.SHUTDOWN:
            raise DriverError(f"{what}: subchannel {ident} is shut down (CONN-8)")
        return sc

    # The channel's handling of a resolver result follows grpc-go clientconn.go
    # (updateResolverStateAndUnlock, applyFailingLBLocked, maybeApplyDefaultServiceConfig):
    # * an invalid config while no config is in force: TRANSIENT_FAILURE with a picker
    #   failing UNAVAILABLE "error parsing service config: ...", then the update is
    #   rejected; the balancer is not called (SC-10);
    # * an invalid config while one is in force: the balancer gets the new endpoints
    #   with the config in force, then the update is rejected, once (SC-11);
    # * "a config is in force" once any update reached the balancer (grpc-go applies
    #   the default config when the resolver sends none) or, under
    #   service_config.resolver_error_before_config=default_config, a resolver error
    #   arrived (grpc-go applies the default config there too; grpc-java, C-core and
    #   grpc-js do not: no_config, SC-14).
    # The rejection is the update's return value, so it comes after the balancer's outputs.

    def _on_resolver_update(self, event: ev.ResolverUpdate) -> None:
        config: Any = None
        rejection: str | None = None
        if isinstance(self.builder, ConfigParser) and event.config is not None:
            try:
                config = self.builder.parse_config(event.config)
            except ConfigError as err:
                rejection = f"error parsing service config: {err}"
                if not self._has_good_config:
                    self._apply_failing_picker(rejection)
                    return
                config = self._good_config
            else:
                self._good_config = config
        elif event.config is not None:
            config = event.config
        self._has_good_config = True
        resolver_state = ResolverState(tuple(event.endpoints), event.resolution_note)
        try:
            self.balancer.update_client_conn_state(ClientConnState(resolver_state, config))
        except BadResolverStateError as err:
            if rejection is None:
                rejection = str(err) or "bad resolver state"
        if rejection is not None:
            self._emit(act.UpdateRejected(rejection))

    def _apply_failing_picker(self, reason: str) -> None:
        self._update_state(BalancerState(State.TRANSIENT_FAILURE, FailPicker(unavailable(reason))))
        self._emit(act.UpdateRejected(reason))

    def _on_resolver_error(self, event: ev.ResolverError) -> None:
        if self.resolver_error_before_config is ResolverErrorBeforeConfig.DEFAULT_CONFIG:
            self._has_good_config = True  # grpc-go: maybeApplyDefaultServiceConfig comes first
        self.balancer.resolver_error(unavailable(event.message))

    def _on_subchannel_state(self, event: ev.SubchannelStateChange) -> None:
        sc = self._subconn(event.subchannel, "SubchannelStateChange")
        if event.state is State.SHUTDOWN:
            raise DriverError("SubchannelStateChange: only the balancer shuts a subchannel down")
        if not is_legal(sc.state, event.state, self.profile):
            raise DriverError(
                f"SubchannelStateChange: subchannel {sc.ident} cannot go {sc.state.name} -> "
                f"{event.state.name} under profile {self.profile.value!r}"
            )
        if sc.state is State.IDLE and event.state is State.CONNECTING and not sc.connect_requested:
            raise DriverError(
                f"SubchannelStateChange: subchannel {sc.ident} left IDLE but the balancer never "
                "called connect() there (CONN-2)"
            )
        if sc.state is State.IDLE:
            sc.connect_requested = False
        if sc.state is State.READY:
            sc.health_listener = None  # health watches end when READY is lost
            sc.oob_listeners.clear()
        sc.state = event.state
        sc.options.state_listener(SubConnState(event.state, event.error))

    def _on_health_state(self, event: ev.HealthStateChange) -> None:
        sc = self._subconn(event.subchannel, "HealthStateChange")
        listener = sc.health_listener
        if listener is None or sc.state is not State.READY:
            raise DriverError(
                f"HealthStateChange: subchannel {sc.ident} has no health listener "
                f"while {sc.state.name}"
            )
        listener(SubConnState(event.state, event.error))

    def _on_exit_idle(self, _event: ev.ExitIdle) -> None:
        self.balancer.exit_idle()

    def _on_close(self, _event: ev.Close) -> None:
        self.balancer.close()
        self.closed = True

    def _on_pick(self, event: ev.Pick) -> None:
        if event.pick_id in self._picks:
            raise DriverError(f"Pick: pick_id {event.pick_id} was used before")
        if self.picker is None:  # no picker yet: the channel queues the RPC
            self._picks[event.pick_id] = None
            self._emit(act.PickQueue(event.pick_id))
            return
        result = self.picker.pick(PickInfo(event.method, event.wait_for_ready))
        self._picks[event.pick_id] = None
        if isinstance(result, Complete):
            if not isinstance(result.subconn, FakeSubConn) or result.subconn._driver is not self:
                raise DriverError(f"Pick: the picker returned a foreign SubConn {result.subconn!r}")
            self._picks[event.pick_id] = result.done or _no_done
            self._emit(act.PickComplete(event.pick_id, result.subconn.ident, result.metadata))
        elif isinstance(result, Queue):
            self._emit(act.PickQueue(event.pick_id))
        elif isinstance(result, Fail):
            self._emit(act.PickFail(event.pick_id, result.status))
        elif isinstance(result, Drop):
            self._emit(act.PickDrop(event.pick_id, result.status))
        else:
            raise DriverError(f"Pick: the picker returned {result!r}, not a PickResult")

    def _on_done(self, event: ev.Done) -> None:
        done = self._picks.get(event.pick_id)
        if done is None or event.pick_id in self._done_picks:
            raise DriverError(f"Done: pick {event.pick_id} did not complete, or is done already")
        self._done_picks.add(event.pick_id)
        done(DoneInfo(event.error, event.trailer, event.load_report))

    def _on_time(self, event: ev.TimeAdvanced) -> None:
        self.clock.advance(event.by, run=self._serialised)

    def _on_oob_report(self, event: ev.OobLoadReport) -> None:
        sc = self._subconn(event.subchannel, "OobLoadReport")
        if sc.state is not State.READY:
            raise DriverError(f"OobLoadReport: subchannel {sc.ident} is {sc.state.name}, not READY")
        for listener in list(sc.oob_listeners):
            listener(event.report)

    _HANDLERS: ClassVar[dict[type, Callable[[Driver, Any], None]]] = {
        ev.ResolverUpdate: _on_resolver_update,
        ev.ResolverError: _on_resolver_error,
        ev.SubchannelStateChange: _on_subchannel_state,
        ev.HealthStateChange: _on_health_state,
        ev.ExitIdle: _on_exit_idle,
        ev.Close: _on_close,
        ev.Pick: _on_pick,
        ev.Done: _on_done,
        ev.TimeAdvanced: _on_time,
        ev.OobLoadReport: _on_oob_report,
    }


def _no_done(_info: DoneInfo) -> None:
    pass
