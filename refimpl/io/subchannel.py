"""A subchannel over grpcio: one single-address grpcio channel per SubConn.

grpcio offers no custom LB API, so each SubConn a policy creates owns a grpcio
channel to its address alone (local subchannel pool, so no connection is shared
with any other channel).  That channel's connectivity, observed through
``grpc.Channel.subscribe``, is translated into the spec's subchannel machine
(:data:`spec.connectivity.SUBCHANNEL_TRANSITIONS`, profile ``current``):

=====================  ==========================  ================================
our state              grpcio reports              we report
=====================  ==========================  ================================
IDLE                   anything                    nothing; wait for ``connect()``
IDLE, connect()        --                          CONNECTING (CONN-2), and ask
                                                   grpcio to connect
CONNECTING             READY                       READY (CONN-3)
CONNECTING             TRANSIENT_FAILURE           TRANSIENT_FAILURE + error (CONN-4)
CONNECTING             IDLE                        nothing; ask grpcio to connect
READY                  anything but READY          IDLE: the connection ended (CONN-6)
TRANSIENT_FAILURE      anything but TF             IDLE: grpcio's backoff is over, it
                                                   retries or got through (CONN-5)
=====================  ==========================  ================================

grpcio may skip states (its subscription delivers only the latest), and its own
channel may go TRANSIENT_FAILURE -> READY directly; the table above turns any
such sequence into legal edges only, one edge per serialised step.  Reconnection
backoff is grpcio's own (``grpc.initial_reconnect_backoff_ms`` and friends).

Shutting a SubConn down ends its health and ORCA watches at once; its grpcio
channel closes when the RPCs already running on it have finished, as grpc-go
closes a removed transport gracefully.
"""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

import attrs
import grpc

from refimpl.balancer import (
    HealthListener,
    NewSubConnOptions,
    OobListener,
    OptionError,
    SubConn,
    SubConnState,
)
from refimpl.io import orca
from refimpl.io.health import HealthWatch
from refimpl.io.serialiser import Serialiser
from refimpl.io.streams import Backoff, StreamWatch
from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.types import Address, AddressFamily, Duration, OrcaLoadReport, Status, StatusCode

_LOG = logging.getLogger(__name__)

_FROM_GRPC = {
    grpc.ChannelConnectivity.IDLE: State.IDLE,
    grpc.ChannelConnectivity.CONNECTING: State.CONNECTING,
    grpc.ChannelConnectivity.READY: State.READY,
    grpc.ChannelConnectivity.TRANSIENT_FAILURE: State.TRANSIENT_FAILURE,
    grpc.ChannelConnectivity.SHUTDOWN: State.SHUTDOWN,
}


@attrs.frozen
class SubchannelOptions:
    """How subchannels connect and watch; the defaults are gRPC's own."""

    # grpcio's reconnect backoff (doc/connection-backoff.md: 1 s first, 120 s cap).
    reconnect_backoff_initial: float = 1.0
    reconnect_backoff_max: float = 120.0
    # Backoff between failed Health/Watch or ORCA streams (A17; grpc-go uses its default).
    stream_backoff: Backoff = attrs.field(factory=Backoff)
    # Further grpcio channel options, passed through as they are; no service config (below).
    grpc_options: tuple[tuple[str, Any], ...] = attrs.field(default=())

    @grpc_options.validator
    def _no_service_config(self, _attribute: Any, value: tuple[tuple[str, Any], ...]) -> None:
        # A subchannel's calls follow the BalancedChannel's service config alone; one of
        # their own could, say, make them wait for ready after the channel picked them.
        if any(key == "grpc.service_config" for key, _ in value):
            raise OptionError(
                "SubchannelOptions.grpc_options: grpc.service_config is not allowed; "
                "the BalancedChannel's service config applies"
            )

    def channel_options(self) -> list[tuple[str, Any]]:
        initial_ms = max(1, round(self.reconnect_backoff_initial * 1000))
        return [
            ("grpc.use_local_subchannel_pool", 1),
            # Nor one from the resolver (DNS TXT records): see grpc_options.
            ("grpc.service_config_disable_resolution", 1),
            ("grpc.initial_reconnect_backoff_ms", initial_ms),
            ("grpc.min_reconnect_backoff_ms", initial_ms),
            ("grpc.max_reconnect_backoff_ms", max(1, round(self.reconnect_backoff_max * 1000))),
            *self.grpc_options,
        ]


# What a subchannel finds grpcio's multicallable by: (kind, method, id(serializer),
# id(deserializer)).  Identities, as serializers need not be hashable; the cached
# multicallable holds both, so neither identity can be reused while it is cached.
CallKey = tuple[str, str, int, int]


def call_key(kind: str, method: str, serializer: Any, deserializer: Any) -> CallKey:
    return (kind, method, id(serializer), id(deserializer))


class SubchannelHost(Protocol):
    """What a subchannel needs from its channel."""

    serialiser: Serialiser
    options: SubchannelOptions

    @property
    def health_service(self) -> str | None: ...

    def emit(self, output: act.Output) -> None:
        """Record an output of the balancer (trace)."""

    def deliver(self, event: ev.Input, call: Callable[[], None]) -> None:
        """Run ``call`` (inside a step) as the balancer's handling of input ``event``."""

    def next_seed(self) -> int: ...


def grpc_target(addresses: tuple[Address, ...]) -> str:
    """A grpcio target naming exactly ``addresses`` (no DNS for IP literals)."""
    families = {a.family for a in addresses}
    if families == {AddressFamily.IPV4}:
        return "ipv4:" + ",".join(a.addr for a in addresses)
    if families == {AddressFamily.IPV6}:
        return "ipv6:" + ",".join(a.addr for a in addresses)
    if len(addresses) == 1:
        return f"dns:///{addresses[0].addr}"
    raise ValueError(
        f"a subchannel over grpcio takes IP literals of one family or a single host name, "
        f"got {[a.addr for a in addresses]}"
    )


class RealSubConn(SubConn):
    """A SubConn backed by a grpcio channel; every state change goes through the serialiser."""

    def __init__(
        self,
        host: SubchannelHost,
        ident: int,
        addresses: tuple[Address, ...],
        options: NewSubConnOptions,
    ) -> None:
        self._host = host
        self.ident = ident
        self._addresses = addresses
        self.options = options
        self.state = State.IDLE  # CONN-1; changed only inside serialised steps
        self.grpc_state: State | None = None  # the latest grpcio report
        self.target = grpc_target(addresses)
        self.channel = grpc.insecure_channel(self.target, options=host.options.channel_options())
        self._subscribed = False
        self._reconcile_queued = False
        self._health_listener: HealthListener | None = None
        self._health_watch: HealthWatch | None = None
        self._oob: dict[int, tuple[OobListener, Duration]] = {}
        self._oob_ids = itertools.count(1)
        self._oob_watches: dict[int, StreamWatch] = {}
        # RPCs in flight on this connection (any thread) and a close deferred until they end.
        self._calls_lock = threading.Lock()
        self._calls = 0
        self._close_when_drained = False
        self._channel_closed = False
        self._retired = False
        self._callables: dict[CallKey, Any] = {}

    # --- SubConn API (called by the balancer, inside a step) ---

    @property
    def addresses(self) -> tuple[Address, ...]:
        return self._addresses

    def connect(self) -> None:
        self._host.emit(act.Connect(self.ident))
        if self.state is State.IDLE:  # CONN-11: a no-op in any other state
            # Asynchronous, as in grpc-go: CONNECTING arrives as a step of its own.
            self._host.serialiser.schedule(self._start_connecting)

    def shutdown(self) -> None:
        if self.state is State.SHUTDOWN:
            return  # grpc-go: a second Shutdown is a no-op
        self._host.emit(act.Shutdown(self.ident))
        self.state = State.SHUTDOWN
        self._stop_watches()
        self._health_listener = None
        self._oob.clear()
        if self._subscribed:
            self.channel.unsubscribe(self._on_grpc_connectivity)
            self._subscribed = False
        with self._calls_lock:
            self._retired = True  # no new RPC may start on it (start_call says no)
            drained = self._calls == 0
            self._close_when_drained = not drained
        if drained:
            self.close_channel()

    def register_health_listener(self, listener: HealthListener) -> None:
        if self.state is not State.READY:
            raise RuntimeError(
                f"subchannel {self.ident}: health listener registered while {self.state.name}"
            )
        self._stop_health()
        self._health_listener = listener
        service = self._host.health_service
        if service is None:
            # HEALTH-1, HEALTH-2: no health checking configured; READY at once
            # (grpc-go balancer_wrapper.go), after the current call returns.
            self._host.serialiser.run_soon(
                lambda: self._deliver_health(SubConnState(State.READY), listener)
            )
            return
        self._health_watch = HealthWatch(
            self.channel,
            service,
            lambda state: self._host.serialiser.schedule(
                lambda: self._deliver_health(state, listener)
            ),
            backoff=self._host.options.stream_backoff,
            seed=self._host.next_seed(),
            name=f"health-{self.ident}",
        )

    def register_oob_listener(
        self, listener: OobListener, interval: Duration
    ) -> Callable[[], None]:
        key = next(self._oob_ids)
        self._oob[key] = (listener, interval)
        if self.state is State.READY:
            self._start_oob(key)

        def stop() -> None:
            self._oob.pop(key, None)
            watch = self._oob_watches.pop(key, None)
            if watch is not None:
                watch.stop()

        return stop

    # --- connectivity translation (inside steps) ---

    def _start_connecting(self) -> None:
        if self.state is not State.IDLE:
            return
        self._set_state(SubConnState(State.CONNECTING))  # CONN-2
        if not self._subscribed:
            self._subscribed = True
            self.channel.subscribe(self._on_grpc_connectivity)
        self._kick()
        self._queue_reconcile()

    def _on_grpc_connectivity(self, connectivity: grpc.ChannelConnectivity) -> None:
        # grpcio's delivery thread: hand over to the serialiser.
        state = _FROM_GRPC[connectivity]
        with contextlib.suppress(RuntimeError):  # the channel closed meanwhile
            self._host.serialiser.schedule(lambda: self._on_grpc_state(state))

    def _on_grpc_state(self, state: State) -> None:
        self.grpc_state = state
        self._reconcile()

    def _queue_reconcile(self) -> None:
        if not self._reconcile_queued:
            self._reconcile_queued = True
            self._host.serialiser.schedule(self._reconcile)

    def _reconcile(self) -> None:
        """Take at most one legal edge toward what grpcio reports (see the module table)."""
        self._reconcile_queued = False
        ours, theirs = self.state, self.grpc_state
        if ours is State.SHUTDOWN or theirs is None or theirs is State.SHUTDOWN:
            return
        target: SubConnState | None = None
        if ours is State.CONNECTING:
            if theirs is State.READY:
                target = SubConnState(State.READY)  # CONN-3
            elif theirs is State.TRANSIENT_FAILURE:
                target = SubConnState(State.TRANSIENT_FAILURE, self._connect_error())  # CONN-4
            elif theirs is State.IDLE:
                self._kick()
        elif ours is State.READY and theirs is not State.READY:
            target = SubConnState(State.IDLE)  # CONN-6
        elif ours is State.TRANSIENT_FAILURE and theirs is not State.TRANSIENT_FAILURE:
            target = SubConnState(State.IDLE)  # CONN-5
        if target is not None:
            self._set_state(target)
            self._queue_reconcile()  # one edge per step; look again in the next one

    def _connect_error(self) -> Status:
        return Status(
            StatusCode.UNAVAILABLE,
            f"failed to connect to {self.target} (grpcio reported TRANSIENT_FAILURE)",
        )

    def _kick(self) -> None:
        """Ask grpcio's channel to connect now.

        grpcio's public way is a subscription with ``try_to_connect``, but that leaves a
        flag its polling thread acts on up to 0.2 s later -- also after the channel was
        closed, which makes that thread raise.  The cython channel underneath answers
        at once, so it is used when present.
        """
        core = getattr(self.channel, "_channel", None)
        if core is None:
            self.channel.subscribe(_ignore, try_to_connect=True)
            self.channel.unsubscribe(_ignore)
            return
        with contextlib.suppress(ValueError):  # closed meanwhile
            core.check_connectivity_state(True)

    def _set_state(self, new: SubConnState) -> None:
        old = self.state
        if old is State.READY:  # watches end when READY is lost (HC-5)
            self._stop_watches()
            self._health_listener = None
        self.state = new.state

        def tell() -> None:
            self.options.state_listener(new)

        self._host.deliver(ev.SubchannelStateChange(self.ident, new.state, new.error), tell)
        if new.state is State.READY and self.state is State.READY:
            for key in list(self._oob):
                self._start_oob(key)

    # --- health and ORCA (inside steps) ---

    def _deliver_health(self, state: SubConnState, listener: HealthListener) -> None:
        if self._health_listener is not listener or self.state is not State.READY:
            return  # stale: the watch ended or another listener took over

        def tell() -> None:
            listener(state)

        self._host.deliver(ev.HealthStateChange(self.ident, state.state, state.error), tell)

    def _start_oob(self, key: int) -> None:
        interval = self._oob[key][1]
        old = self._oob_watches.pop(key, None)
        if old is not None:
            old.stop()

        def on_message(message: Any) -> None:
            report = orca.from_proto(message)
            if report is not None:
                self._host.serialiser.schedule(lambda: self._deliver_oob(key, report))

        def on_failure(code: grpc.StatusCode, _details: str) -> bool:
            return code is not grpc.StatusCode.UNIMPLEMENTED  # grpc-go orca/producer.go

        self._oob_watches[key] = StreamWatch(
            f"orca-{self.ident}-{key}",
            lambda: orca.open_oob_stream(self.channel, interval),
            on_attempt=_ignore_none,
            on_message=on_message,
            on_failure=on_failure,
            backoff=self._host.options.stream_backoff,
            seed=self._host.next_seed(),
        )

    def _deliver_oob(self, key: int, report: OrcaLoadReport) -> None:
        entry = self._oob.get(key)
        if entry is None or self.state is not State.READY:
            return
        listener = entry[0]
        self._host.deliver(ev.OobLoadReport(self.ident, report), lambda: listener(report))

    def _stop_health(self) -> None:
        if self._health_watch is not None:
            self._health_watch.stop()
            self._health_watch = None

    def _stop_watches(self) -> None:
        self._stop_health()
        for watch in self._oob_watches.values():
            watch.stop()
        self._oob_watches.clear()

    # --- RPCs (any thread) ---

    def multicallable(self, kind: str, method: str, serializer: Any, deserializer: Any) -> Any:
        """grpcio's multicallable of ``kind`` for ``method`` on this subchannel's channel."""
        key = call_key(kind, method, serializer, deserializer)
        found = self._callables.get(key)
        if found is None:
            factory = getattr(self.channel, kind)
            found = factory(
                method, request_serializer=serializer, response_deserializer=deserializer
            )
            self._callables[key] = found
        return found

    def start_call(self, key: CallKey, serializer: Any, deserializer: Any) -> Any:
        """Count an RPC starting here and return grpcio's multicallable for it.

        None when the SubConn was shut down meanwhile.  One method for both, and ``key``
        made once per multicallable (:func:`call_key`), as every RPC calls it.
        """
        found = self._callables.get(key)
        if found is None:
            found = self.multicallable(key[0], key[1], serializer, deserializer)
        with self._calls_lock:
            if self._retired or self._channel_closed:
                return None
            self._calls += 1
        return found

    def call_finished(self) -> None:
        with self._calls_lock:
            self._calls -= 1
            close = self._close_when_drained and self._calls == 0
        if close:
            self.close_channel()

    def close_channel(self) -> None:
        with self._calls_lock:
            if self._channel_closed:
                return
            self._channel_closed = True
            self._close_when_drained = False
        self._stop_watches()
        self.channel.close()

    def __repr__(self) -> str:
        return f"RealSubConn({self.ident}, {self.target}, {self.state.name})"


def _ignore(_connectivity: grpc.ChannelConnectivity) -> None:
    pass


def _ignore_none() -> None:
    pass
