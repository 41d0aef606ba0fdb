"""BalancedChannel: a grpcio channel whose load balancing is one of this project's policies.

grpcio runs only its built-in policies.  This channel runs any policy from
:mod:`refimpl.registry` instead, and is the real-time sibling of
:class:`refimpl.driver.Driver`:

* The resolver is static: the endpoints and service config given to the
  constructor (or to :meth:`BalancedChannel.update`).  The service config picks
  the policy (:mod:`refimpl.service_config`), which runs under a graceful switch
  balancer as in grpc-go's channel.
* Each SubConn is a single-address grpcio channel
  (:class:`~refimpl.io.subchannel.RealSubConn`); its connectivity becomes the
  policy's subchannel state events.
* Every call into the balancer -- resolver updates, subchannel and health
  events, timers (:class:`~refimpl.io.clock.RealClock`), ``run_soon`` work --
  runs on one :class:`~refimpl.io.serialiser.Serialiser`.  ``Picker.pick`` and
  the pick's ``done`` callback run on the RPC's own thread, as in grpc-go.
* An RPC asks the current picker (grpc-go ``picker_wrapper.go``, ``pick``):
  Complete sends it on the chosen subchannel; Queue waits for the next picker
  (RPC-1); Fail fails a fail-fast RPC with the picker's status and makes a
  wait_for_ready RPC wait (RPC-2); Drop fails it either way (RPC-3); a status
  code restricted by gRFC A54 becomes INTERNAL (MODEL-5).  Waiting ends at the
  RPC's deadline with DEADLINE_EXCEEDED (RPC-4).  A Complete pick of a
  subchannel that is not READY gets ``done`` with an empty DoneInfo and waits
  for the next picker (LB-5).  A plain blocking unary RPC whose pick completes at
  once takes a short path with the same checks (``_UnaryUnary.__call__``): on a
  local RPC each Python call costs about 1%, and users feel that.
* ``done`` gets the final status, the trailers and the per-call ORCA report
  from ``endpoint-load-metrics-bin`` (RPC-5, RPC-6).
* A wait_for_ready unary RPC whose attempt provably never left the client is
  picked again while time is left (RPC-7, gRFC A6 "Transparent Retries", first
  case): the subchannel's own grpcio channel failed it for want of a connection.
  An attempt that may have reached the server -- UNAVAILABLE without headers,
  as when a backend is killed under load -- is not sent again: the server may
  have run it.  (An RPC refused by the server's transport before its
  application saw it, A6's second case, is retried once by grpcio's core.)
* With ``record_trace=True`` every step is recorded as a :class:`spec.trace.Step`
  (picks and ``done`` calls then take the serialiser's lock, so the trace is a
  true linearisation), and any spec monitor can judge the run.

The channel is a ``grpc.Channel``, so generated stubs work on it unchanged.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import itertools
import logging
import random
import threading
import time
import types
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import grpc

import refimpl.builtin  # noqa: F401  (registers the built-in policies)
from refimpl.balancer import (
    BadResolverStateError,
    BalancerError,
    BalancerState,
    BuildOptions,
    ClientConn,
    ClientConnState,
    Complete,
    DoneInfo,
    Drop,
    Fail,
    NewSubConnOptions,
    Picker,
    PickInfo,
    PickResult,
    Queue,
    ResolverState,
    SubConn,
)
from refimpl.graceful_switch import GracefulSwitchBalancer, SwitchConfig
from refimpl.io import orca
from refimpl.io.clock import RealClock
from refimpl.io.rpc import Metadata, RpcFailure, RpcFuture, from_grpc_code, metadata_pairs
from refimpl.io.serialiser import Serialiser
from refimpl.io.subchannel import RealSubConn, SubchannelOptions, call_key
from refimpl.service_config import SelectionSource, ServiceConfig, parse_service_config
from spec import actions as act
from spec import events as ev
from spec.connectivity import State
from spec.trace import Step
from spec.types import (
    Address,
    Attributes,
    AttributeValue,
    Duration,
    Endpoint,
    Status,
    StatusCode,
    control_plane_status,
)

if TYPE_CHECKING:
    from grpc import _CallFuture, _CallIterator

    _UnaryUnaryBase = grpc.UnaryUnaryMultiCallable[Any, Any]
    _UnaryStreamBase = grpc.UnaryStreamMultiCallable[Any, Any]
    _StreamUnaryBase = grpc.StreamUnaryMultiCallable[Any, Any]
    _StreamStreamBase = grpc.StreamStreamMultiCallable[Any, Any]
else:  # grpcio's runtime classes are not generic
    _UnaryUnaryBase = grpc.UnaryUnaryMultiCallable
    _UnaryStreamBase = grpc.UnaryStreamMultiCallable
    _StreamUnaryBase = grpc.StreamUnaryMultiCallable
    _StreamStreamBase = grpc.StreamStreamMultiCallable

_LOG = logging.getLogger(__name__)

# The metadata of a PickInfo for an RPC without text metadata: shared, so read-only.
_NO_METADATA: Mapping[str, str] = types.MappingProxyType({})

# RPC-7 re-picks a wait_for_ready unary RPC at most this many times (besides its deadline).
MAX_ATTEMPTS = 16
# How many (method, wait_for_ready) pairs keep a shared PickInfo (see _pick_info).
MAX_SHARED_INFOS = 1024

_TO_CONNECTIVITY = {
    State.IDLE: grpc.ChannelConnectivity.IDLE,
    State.CONNECTING: grpc.ChannelConnectivity.CONNECTING,
    State.READY: grpc.ChannelConnectivity.READY,
    State.TRANSIENT_FAILURE: grpc.ChannelConnectivity.TRANSIENT_FAILURE,
    State.SHUTDOWN: grpc.ChannelConnectivity.SHUTDOWN,
}


class PickFailedError(BalancerError):
    """The channel ended an RPC before it reached a subchannel; ``status`` says why."""

    def __init__(self, status: Status) -> None:
        super().__init__(str(status))
        self.status = status


# What _pick returns: the SubConn (ours, READY), the Complete result naming it, the pick's ID
# and the generation of the picker that chose it (a re-pick after a failure waits for a newer
# one).  A plain tuple: it is built on every RPC, where even a NamedTuple's __new__ shows.
_Chosen = tuple[RealSubConn, Complete, int, int]


class TraceRecorder:
    """Collects the channel's steps as :class:`spec.trace.Step` (only inside serialised steps)."""

    def __init__(self) -> None:
        self.steps: list[Step] = []
        self.orphans: list[act.Output] = []  # outputs outside any input: should stay empty
        self._open: list[tuple[ev.Input, list[act.Output]]] = []

    @property
    def open(self) -> bool:
        return bool(self._open)

    def begin(self, event: ev.Input) -> None:
        self._open.append((event, []))

    def end(self) -> None:
        event, outputs = self._open.pop()
        self.steps.append(Step(event, tuple(outputs)))

    def emit(self, output: act.Output) -> None:
        if self._open:
            self._open[-1][1].append(output)
        else:
            self.orphans.append(output)


def to_endpoints(values: Iterable[Endpoint | Address | str]) -> tuple[Endpoint, ...]:
    """Endpoints from endpoints, addresses or ``host:port`` strings (one endpoint each)."""
    out: list[Endpoint] = []
    for value in values:
        if isinstance(value, Endpoint):
            out.append(value)
        elif isinstance(value, Address | str):
            out.append(Endpoint((value,)))
        else:
            raise TypeError(f"expected an Endpoint, Address or 'host:port', got {value!r}")
    return tuple(out)


def _policy_json(config: ServiceConfig) -> Any:
    """The selected policy's own JSON config, as a trace's ResolverUpdate carries it."""
    selection = config.lb_policy
    if selection.source is SelectionSource.LOAD_BALANCING_CONFIG and selection.index is not None:
        return config.raw["loadBalancingConfig"][selection.index][selection.name]
    return {} if selection.source is SelectionSource.LOAD_BALANCING_POLICY else None


def _trailer_attributes(pairs: Metadata) -> tuple[tuple[str, AttributeValue], ...]:
    """Text trailers as trace attributes (binary ones are left out; repeats are joined)."""
    merged: dict[str, str] = {}
    for key, value in pairs:
        if isinstance(value, str) and key and not key.endswith("-bin"):
            merged[key] = f"{merged[key]},{value}" if key in merged else value
    return tuple(sorted(merged.items()))


def _text_pairs(metadata: Attributes) -> Metadata:
    """A pick result's metadata as grpcio metadata pairs (values as text)."""
    return tuple((key, str(value)) for key, value in metadata)


# How grpcio's core fails an RPC that its channel could not send for want of a
# connection: the status of pick_first's TRANSIENT_FAILURE picker (grpc/grpc
# src/core/load_balancing/pick_first/pick_first.cc; each RealSubConn's channel runs
# pick_first over its one address).  Checked against grpcio: an RPC on a channel to a
# closed port fails with "failed to connect to all addresses; last error: ...".
_NOT_SENT_DETAILS = "failed to connect to all addresses"


def _never_sent(err: grpc.RpcError) -> bool:
    """The attempt provably never left the client (gRFC A6, Transparent Retries, case 1):
    UNAVAILABLE from the subchannel channel's own pick, no headers.  UNAVAILABLE alone is
    not enough: an RPC cut off by a dying backend ("Socket closed", "Cancelling all calls")
    may already have run on the server, and must not run twice."""
    if err.code() is not grpc.StatusCode.UNAVAILABLE or not isinstance(err, grpc.Call):
        return False
    if err.initial_metadata():
        return False
    return (err.details() or "").startswith(_NOT_SENT_DETAILS)


class _ChannelClientConn(ClientConn):
    def __init__(self, channel: BalancedChannel) -> None:
        self._channel = channel

    def new_subconn(self, addresses: tuple[Address, ...], options: NewSubConnOptions) -> SubConn:
        return self._channel._new_subconn(tuple(addresses), options)

    def update_state(self, state: BalancerState) -> None:
        self._channel._update_state(state)

    def resolve_now(self) -> None:
        # The resolver is static: there is nothing to re-resolve, but the request is recorded.
        self._channel.emit(act.RequestReresolution())


class BalancedChannel(grpc.Channel):
    """A ``grpc.Channel`` balanced by a reference policy; see the module docstring."""

    def __init__(
        self,
        endpoints: Iterable[Endpoint | Address | str],
        service_config: str | Any = None,
        *,
        options: SubchannelOptions | None = None,
        seed: int | None = None,
        record_trace: bool = False,
        name: str = "balanced-channel",
    ) -> None:
        self.options = options or SubchannelOptions()
        self._config = parse_service_config({} if service_config is None else service_config)
        self._endpoints = to_endpoints(endpoints)
        self.serialiser = Serialiser(name)
        self._seeds = random.Random(seed)
        self.recorder = TraceRecorder() if record_trace else None
        self._last_tick = Duration(0)
        self.clock = RealClock(self.serialiser, on_fire=self._on_timer)
        self._cond = threading.Condition()
        # The picker and its generation, published together as one tuple so that an RPC can
        # read both without taking the lock (_next_picker's fast path).
        self._current: tuple[Picker, int] | None = None
        self._plain_infos: dict[tuple[str, bool], PickInfo] = {}
        self._state = State.IDLE  # CHAN-1
        self._closed = False
        self._subconns: dict[int, RealSubConn] = {}
        self._pick_ids = itertools.count(1)
        self._subscribers: dict[Callable[[grpc.ChannelConnectivity], None], bool] = {}
        self._notifier: concurrent.futures.ThreadPoolExecutor | None = None
        build = BuildOptions(
            clock=self.clock,
            random=random.Random(self._seeds.getrandbits(64)),
            run_soon=self.serialiser.run_soon,
        )
        self._balancer = GracefulSwitchBalancer(_ChannelClientConn(self), build)
        self.serialiser.schedule(self._apply_update)

    # --- the resolver side ---

    def update(
        self,
        endpoints: Iterable[Endpoint | Address | str],
        service_config: str | Any = None,
    ) -> None:
        """A new resolver result; ``service_config`` None keeps the one in force.

        An invalid service config raises :class:`refimpl.service_config.ServiceConfigError`
        here and changes nothing.
        """
        config = self._config if service_config is None else parse_service_config(service_config)
        endpoint_list = to_endpoints(endpoints)

        def apply() -> None:
            self._config, self._endpoints = config, endpoint_list
            self._apply_update()

        self.serialiser.schedule(apply)

    @property
    def health_service(self) -> str | None:
        """The service to health-check (healthCheckConfig.serviceName), or None."""
        return self._config.health_check_service_name

    def _apply_update(self) -> None:
        selection = self._config.lb_policy
        state = ClientConnState(
            ResolverState(self._endpoints), SwitchConfig(selection.builder, selection.config)
        )

        def call() -> None:
            try:
                self._balancer.update_client_conn_state(state)
            except BadResolverStateError as err:
                # A real resolver would re-resolve with backoff; this one is static.
                self.emit(act.UpdateRejected(str(err) or "bad resolver state"))

        self.deliver(ev.ResolverUpdate(self._endpoints, config=_policy_json(self._config)), call)

    # --- what subchannels and the balancer call (inside steps) ---

    def emit(self, output: act.Output) -> None:
        if self.recorder is not None:
            self.recorder.emit(output)

    def deliver(self, event: ev.Input, call: Callable[[], None]) -> None:
        """Run ``call`` as the balancer's handling of ``event``, follow-ups included."""
        recorder = self.recorder
        if recorder is None or recorder.open:
            call()  # nested in an open step: its outputs belong to that step
            if recorder is None:
                self.serialiser.drain()
            return
        recorder.begin(event)
        try:
            call()
            self.serialiser.drain()
        finally:
            recorder.end()

    def next_seed(self) -> int:
        return self._seeds.getrandbits(64)

    def _on_timer(self, now: Duration, callback: Callable[[], None]) -> None:
        by, self._last_tick = Duration(max(0, now.nanos - self._last_tick.nanos)), now
        self.deliver(ev.TimeAdvanced(by), callback)

    def _new_subconn(self, addresses: tuple[Address, ...], options: NewSubConnOptions) -> SubConn:
        if self._closed:
            raise RuntimeError("new_subconn after the channel closed")
        ident = len(self._subconns) + 1
        subconn = RealSubConn(self, ident, addresses, options)
        self._subconns[ident] = subconn
        self.emit(act.NewSubchannel(ident, addresses, options.health_listener))
        return subconn

    def _update_state(self, state: BalancerState) -> None:
        self.emit(act.UpdateState(state.state))
        with self._cond:
            changed = state.state is not self._state
            self._state = state.state
            generation = 1 if self._current is None else self._current[1] + 1
            self._current = (state.picker, generation)
            self._cond.notify_all()  # wake queued picks (grpc-go updatePicker)
            subscribers = list(self._subscribers) if changed else []
        for callback in subscribers:
            self._notify(callback, state.state)

    # --- picking (the RPC's thread) ---

    def _next_picker(
        self, seen: int, deadline: float | None, last_error: Status | None
    ) -> tuple[Picker, int]:
        """The picker in force, once it is newer than generation ``seen``; waits for one."""
        with self._cond:
            while True:
                if self._closed:
                    raise PickFailedError(Status(StatusCode.CANCELLED, "the channel is closed"))
                current = self._current
                if current is not None and current[1] != seen:
                    return current
                left = None if deadline is None else deadline - time.monotonic()
                if left is not None and left <= 0:  # RPC-4
                    why = f"latest balancer error: {last_error}" if last_error else "no picker"
                    raise PickFailedError(
                        Status(
                            StatusCode.DEADLINE_EXCEEDED,
                            f"deadline exceeded while waiting for a subchannel ({why})",
                        )
                    )
                self._cond.wait(left)

    def _traced_pick(
        self, picker: Picker, gen: int, info: PickInfo, pick_id: int
    ) -> tuple[PickResult, int]:
        """Pick once as a serialised step on the current picker, recorded in the trace."""
        box: list[tuple[PickResult, int]] = []

        def call() -> None:
            current, current_gen = self._current or (picker, gen)
            result = current.pick(info)
            box.append((result, current_gen))
            outcome = self._pick_outcome(pick_id, result)
            if outcome is not None:  # None: a foreign SubConn, which LB-4 then reports
                self.emit(outcome)

        event = ev.Pick(pick_id, info.method, info.wait_for_ready)
        self.serialiser.step(lambda: self.deliver(event, call))
        if not box:  # the picker raised: the serialiser logged it
            raise PickFailedError(Status(StatusCode.INTERNAL, "the picker raised an exception"))
        return box[0]

    def _pick_outcome(self, pick_id: int, result: PickResult) -> act.PickOutcome | None:
        if isinstance(result, Complete):
            subconn = result.subconn
            if (
                not isinstance(subconn, RealSubConn)
                or self._subconns.get(subconn.ident) is not subconn
            ):
                return None
            return act.PickComplete(pick_id, subconn.ident, result.metadata)
        if isinstance(result, Fail):
            return act.PickFail(pick_id, result.status)
        if isinstance(result, Drop):
            return act.PickDrop(pick_id, result.status)
        return act.PickQueue(pick_id)

    def _pick_info(self, method: str, wait_for_ready: bool, metadata: Metadata) -> PickInfo:
        """What the picker sees of an RPC: its method, wait_for_ready and text metadata."""
        text = {k: v for k, v in metadata if isinstance(v, str)} if metadata else None
        if text:
            return PickInfo(method, wait_for_ready, text)
        # Most RPCs carry no metadata: one read-only PickInfo per method serves them all
        # (kept for the first MAX_SHARED_INFOS methods, so odd callers cannot grow it).
        key = (method, wait_for_ready)
        info = self._plain_infos.get(key)
        if info is None:
            info = PickInfo(method, wait_for_ready, _NO_METADATA)
            if len(self._plain_infos) < MAX_SHARED_INFOS:
                self._plain_infos[key] = info
        return info

    def _pick(
        self,
        info: PickInfo,
        deadline: float | None,
        seen: int = -1,
        first: tuple[PickResult, int] | None = None,
    ) -> _Chosen:
        """Pick until an RPC can go out (grpc-go pickerWrapper.pick); raises PickFailedError.

        ``seen``: a picker generation already tried; the first pick waits for a newer one.
        ``first``: a pick already made (and that picker's generation), taken as the first.
        """
        wait_for_ready = info.wait_for_ready
        last_error: Status | None = None
        while True:
            if first is not None:
                (result, seen), first = first, None
                pick_id = next(self._pick_ids)
            else:
                # Fast path, every RPC while a picker is in force: one attribute read, no
                # lock (the tuple is replaced whole: picker and generation belong together).
                current = self._current
                if current is not None and current[1] != seen and not self._closed:
                    picker, seen = current
                else:
                    picker, seen = self._next_picker(seen, deadline, last_error)
                pick_id = next(self._pick_ids)
                if self.recorder is None:
                    result = picker.pick(info)
                else:
                    result, seen = self._traced_pick(picker, seen, info, pick_id)
            if isinstance(result, Complete):
                # One of this channel's live SubConns (LB-1), READY (LB-5).  No isinstance:
                # RealSubConn's ABC metaclass makes it a Python-level call on every RPC.
                subconn = self._subconns.get(getattr(result.subconn, "ident", 0))
                if subconn is result.subconn and subconn.state is State.READY:
                    return subconn, result, pick_id, seen
                if result.done is not None:  # LB-5: not READY; done, then wait for a new picker
                    self._call_done(pick_id, result.done, DoneInfo())
            elif isinstance(result, Queue):  # RPC-1
                continue
            elif isinstance(result, Fail):  # RPC-2
                status = control_plane_status(result.status)  # MODEL-5
                if not wait_for_ready:
                    raise PickFailedError(status)
                last_error = status
            elif isinstance(result, Drop):  # RPC-3
                raise PickFailedError(control_plane_status(result.status))
            else:
                raise PickFailedError(
                    Status(StatusCode.INTERNAL, f"the picker returned {result!r}")
                )

    def _call_done(self, pick_id: int, done: Callable[[DoneInfo], None], info: DoneInfo) -> None:
        if self.recorder is None:
            done(info)
            return
        event = ev.Done(pick_id, info.error, info.trailer, info.load_report)
        self.serialiser.step(lambda: self.deliver(event, lambda: done(info)))

    def _finish(self, picked: Complete, pick_id: int, call: Any) -> None:
        """An attempt ended: tell the pick's ``done`` how (RPC-5, RPC-6)."""
        done = picked.done
        if done is None:
            return  # nobody to tell (round_robin's picks): skip reading status and trailers
        try:
            code = from_grpc_code(call.code())
            details = call.details() or ""
            trailers = metadata_pairs(call.trailing_metadata())
        except Exception:  # a call that cannot say how it ended counts as UNKNOWN
            code, details, trailers = StatusCode.UNKNOWN, "no final status", ()
        info = DoneInfo(
            None if code is StatusCode.OK else Status(code, details),
            _trailer_attributes(trailers),
            orca.load_report_from_trailers(trailers),
        )
        self._call_done(pick_id, done, info)

    # --- RPCs ---

    def _unary(
        self,
        rpc: _MultiCallable,
        request: Any,
        timeout: float | None,
        metadata: Any,
        credentials: grpc.CallCredentials | None,
        wait_for_ready: bool | None,
        compression: grpc.Compression | None,
        *,
        cancelled: Callable[[], bool] | None = None,
        want_call: bool = True,
        first: tuple[PickResult, int] | None = None,
    ) -> tuple[Any, grpc.Call | None]:
        """One unary-response RPC; the grpc.Call is None when not ``want_call`` and unneeded.

        ``first``: a pick already made for it (``_UnaryUnary.__call__``), as ``_pick`` takes it.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        wfr = bool(wait_for_ready)
        if metadata or wfr:
            md = metadata_pairs(metadata) if metadata else ()
            info = self._pick_info(rpc.method, wfr, md)
        else:  # most RPCs: the multicallable's shared PickInfo
            md, info = (), rpc.plain_info
        attempts = MAX_ATTEMPTS if wfr and rpc.kind == "unary_unary" else 1
        tried = -1  # the picker generation of the last failed attempt
        for attempt in range(1, attempts + 1):
            try:
                subconn, picked, pick_id, gen = self._pick(info, deadline, tried, first)
            except PickFailedError as failed:
                raise RpcFailure(failed.status) from None
            first = None
            if cancelled is not None and cancelled():
                status = Status(StatusCode.CANCELLED, "cancelled before it was sent")
                self._finish(picked, pick_id, RpcFailure(status))
                raise RpcFailure(status)
            callable_ = subconn.start_call(rpc.key, rpc.serializer, rpc.deserializer)
            if callable_ is None:
                self._shut_meanwhile(picked, pick_id)  # LB-5
                tried = gen
                continue
            remaining = None if deadline is None else max(0.001, deadline - time.monotonic())
            sent = md + _text_pairs(picked.metadata) if picked.metadata else md
            # The call object is needed only by ``done`` (status, trailers) or the caller
            # (with_call, future); without either, the plain call saves grpcio building one.
            # The subchannel's own call does not wait for ready (grpcio's default, and its
            # channel has no service config to say otherwise: SubchannelOptions): this
            # channel did.
            method = callable_.with_call if want_call or picked.done is not None else callable_
            try:
                result = method(
                    request,
                    timeout=remaining,
                    metadata=sent,
                    credentials=credentials,
                    compression=compression,
                )
            except grpc.RpcError as err:
                self._finish(picked, pick_id, err)
                if attempt < attempts and _never_sent(err):
                    tried = gen  # RPC-7: pick again, from a newer picker
                    continue
                raise
            finally:
                subconn.call_finished()
            if method is callable_:
                return result, None
            response, call = result
            if picked.done is not None:
                self._finish(picked, pick_id, call)
            return response, call
        raise RpcFailure(
            Status(StatusCode.UNAVAILABLE, f"no attempt could start in {attempts} picks")
        )

    def _shut_meanwhile(self, picked: Complete, pick_id: int) -> None:
        """The picked SubConn was shut down between the pick and the call: as not READY."""
        if picked.done is not None:
            self._call_done(pick_id, picked.done, DoneInfo())

    def _streaming(
        self,
        rpc: _MultiCallable,
        request: Any,
        timeout: float | None,
        metadata: Any,
        credentials: grpc.CallCredentials | None,
        wait_for_ready: bool | None,
        compression: grpc.Compression | None,
    ) -> Any:
        """Pick (waiting if told to), then start grpcio's streaming call on the subchannel."""
        deadline = None if timeout is None else time.monotonic() + timeout
        md = metadata_pairs(metadata)
        info = self._pick_info(rpc.method, bool(wait_for_ready), md)
        tried = -1
        for _ in range(MAX_ATTEMPTS):
            try:
                subconn, picked, pick_id, gen = self._pick(info, deadline, tried)
            except PickFailedError as failed:
                return RpcFailure(failed.status)
            callable_ = subconn.start_call(rpc.key, rpc.serializer, rpc.deserializer)
            if callable_ is not None:
                break
            self._shut_meanwhile(picked, pick_id)  # LB-5
            tried = gen
        else:
            return RpcFailure(
                Status(StatusCode.UNAVAILABLE, f"no attempt could start in {MAX_ATTEMPTS} picks")
            )
        remaining = None if deadline is None else max(0.001, deadline - time.monotonic())
        try:
            call = callable_(
                request,
                timeout=remaining,
                metadata=md + _text_pairs(picked.metadata),
                credentials=credentials,
                wait_for_ready=False,
                compression=compression,
            )
        except BaseException:
            subconn.call_finished()
            raise

        def finished(finished_call: Any) -> None:
            try:
                self._finish(picked, pick_id, finished_call)
            finally:
                subconn.call_finished()

        call.add_done_callback(finished)
        return call

    # --- grpc.Channel ---

    def unary_unary(
        self,
        method: str,
        request_serializer: Callable[[Any], bytes] | None = None,
        response_deserializer: Callable[[bytes], Any] | None = None,
        _registered_method: bool | None = False,
    ) -> grpc.UnaryUnaryMultiCallable[Any, Any]:
        return _UnaryUnary(self, method, request_serializer, response_deserializer)

    def unary_stream(
        self,
        method: str,
        request_serializer: Callable[[Any], bytes] | None = None,
        response_deserializer: Callable[[bytes], Any] | None = None,
        _registered_method: bool | None = False,
    ) -> grpc.UnaryStreamMultiCallable[Any, Any]:
        return _UnaryStream(self, method, request_serializer, response_deserializer)

    def stream_unary(
        self,
        method: str,
        request_serializer: Callable[[Any], bytes] | None = None,
        response_deserializer: Callable[[bytes], Any] | None = None,
        _registered_method: bool | None = False,
    ) -> grpc.StreamUnaryMultiCallable[Any, Any]:
        return _StreamUnary(self, method, request_serializer, response_deserializer)

    def stream_stream(
        self,
        method: str,
        request_serializer: Callable[[Any], bytes] | None = None,
        response_deserializer: Callable[[bytes], Any] | None = None,
        _registered_method: bool | None = False,
    ) -> grpc.StreamStreamMultiCallable[Any, Any]:
        return _StreamStream(self, method, request_serializer, response_deserializer)

    def subscribe(
        self, callback: Callable[[grpc.ChannelConnectivity], None], try_to_connect: bool = False
    ) -> None:
        """Watch the channel's state; the callback runs on a notifier thread."""
        with self._cond:
            self._subscribers[callback] = True
            state = self._state
        self._notify(callback, state)
        if try_to_connect:
            self.connect()

    def unsubscribe(self, callback: Callable[[grpc.ChannelConnectivity], None]) -> None:
        with self._cond:
            self._subscribers.pop(callback, None)

    def _notify(self, callback: Callable[[grpc.ChannelConnectivity], None], state: State) -> None:
        with self._cond:
            if self._notifier is None:
                self._notifier = concurrent.futures.ThreadPoolExecutor(
                    1, thread_name_prefix="balanced-channel-notify"
                )
            notifier = self._notifier
        with contextlib.suppress(RuntimeError):  # the channel closed meanwhile
            notifier.submit(callback, _TO_CONNECTIVITY[state])

    def close(self) -> None:
        """Close the policy (it shuts its subchannels down), fail waiting RPCs, stop threads."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify_all()
            notifier = self._notifier
        self.serialiser.close(final=lambda: self.deliver(ev.Close(), self._balancer.close))
        for subconn in list(self._subconns.values()):
            subconn.close_channel()
        if notifier is not None:
            notifier.shutdown(wait=False)

    def __enter__(self) -> BalancedChannel:
        return self

    def __exit__(self, *exc_info: object) -> bool | None:
        self.close()
        return None

    # --- for tests and tools ---

    @property
    def state(self) -> State:
        """The channel's connectivity state: the last one the policy reported."""
        with self._cond:
            return self._state

    def connect(self) -> None:
        """Ask the policy to leave IDLE (grpc-go ClientConn.Connect)."""
        self.serialiser.schedule(lambda: self.deliver(ev.ExitIdle(), self._balancer.exit_idle))

    def wait_for_state(self, wanted: State, timeout: float) -> bool:
        """Wait until the channel reports ``wanted``; False when ``timeout`` passed first."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._state is not wanted:
                left = deadline - time.monotonic()
                if left <= 0 or self._closed:
                    return False
                self._cond.wait(left)
        return True

    @property
    def subchannels(self) -> tuple[RealSubConn, ...]:
        """Every subchannel the policy created, in creation order."""
        return tuple(self._subconns.values())

    @property
    def trace(self) -> tuple[Step, ...]:
        """The recorded steps (``record_trace=True``); read after the run settles."""
        if self.recorder is None:
            raise RuntimeError("this channel records no trace: pass record_trace=True")
        with self.serialiser.lock:
            return tuple(self.recorder.steps)

    @property
    def errors(self) -> list[BaseException]:
        """Exceptions the balancer raised inside serialised steps (should stay empty)."""
        return self.serialiser.errors


class _MultiCallable:
    """What every RPC through one of the channel's multicallables shares, made once."""

    kind: str  # grpcio's name for it: "unary_unary", "unary_stream", ...

    def __init__(
        self, channel: BalancedChannel, method: str, serializer: Any, deserializer: Any
    ) -> None:
        self._channel = channel
        self.method = method
        self.serializer = serializer
        self.deserializer = deserializer
        self.key = call_key(self.kind, method, serializer, deserializer)
        # What the picker sees of an RPC without metadata or wait_for_ready.
        self.plain_info = channel._pick_info(method, False, ())

    def _unary(self, request: Any, *args: Any, **kwargs: Any) -> tuple[Any, grpc.Call]:
        response, call = self._channel._unary(self, request, *args, **kwargs)
        assert call is not None  # want_call (the default) always yields the call
        return response, call

    def _future(self, request: Any, *args: Any) -> Any:
        return RpcFuture(lambda cancelled: self._unary(request, *args, cancelled=cancelled))

    def _stream(self, request: Any, *args: Any) -> Any:
        return self._channel._streaming(self, request, *args)


class _UnaryUnary(_MultiCallable, _UnaryUnaryBase):
    kind = "unary_unary"

    def __call__(
        self,
        request: Any,
        timeout: float | None = None,
        metadata: Any = None,
        credentials: grpc.CallCredentials | None = None,
        wait_for_ready: bool | None = None,
        compression: grpc.Compression | None = None,
    ) -> Any:
        channel = self._channel
        first: tuple[PickResult, int] | None = None
        if not (metadata or wait_for_ready or credentials or compression):
            # Most RPCs are this plain blocking call, picked by the picker in force onto a
            # READY SubConn with nothing to tell when it ends: it goes out here, in the fewest
            # steps, as every Python call on this path costs a local RPC about 1%
            # (bench/NOTES.md).  The same checks as the full path (_pick: LB-1, LB-5); the
            # timeout runs from grpcio's call, one pick later.  Any other outcome of the pick
            # goes on to the full path as its first pick, so no RPC is picked twice.
            current = channel._current
            if current is not None and channel.recorder is None and not channel._closed:
                picked = current[0].pick(self.plain_info)
                if type(picked) is Complete and picked.done is None and not picked.metadata:
                    subconn = channel._subconns.get(getattr(picked.subconn, "ident", 0))
                    if subconn is picked.subconn and subconn.state is State.READY:
                        callable_ = subconn.start_call(self.key, self.serializer, self.deserializer)
                        if callable_ is not None:
                            try:
                                return callable_(request, timeout=timeout)
                            finally:
                                subconn.call_finished()
                first = (picked, current[1])
        # Without asking grpcio for a call object that nobody will see.
        return channel._unary(
            self,
            request,
            timeout,
            metadata,
            credentials,
            wait_for_ready,
            compression,
            want_call=False,
            first=first,
        )[0]

    def with_call(
        self,
        request: Any,
        timeout: float | None = None,
        metadata: Any = None,
        credentials: grpc.CallCredentials | None = None,
        wait_for_ready: bool | None = None,
        compression: grpc.Compression | None = None,
    ) -> tuple[Any, grpc.Call]:
        args = (timeout, metadata, credentials, wait_for_ready, compression)
        return self._unary(request, *args)

    def future(
        self,
        request: Any,
        timeout: float | None = None,
        metadata: Any = None,
        credentials: grpc.CallCredentials | None = None,
        wait_for_ready: bool | None = None,
        compression: grpc.Compression | None = None,
    ) -> _CallFuture[Any]:
        args = (timeout, metadata, credentials, wait_for_ready, compression)
        result: _CallFuture[Any] = self._future(request, *args)
        return result


class _UnaryStream(_MultiCallable, _UnaryStreamBase):
    kind = "unary_stream"

    def __call__(
        self,
        request: Any,
        timeout: float | None = None,
        metadata: Any = None,
        credentials: grpc.CallCredentials | None = None,
        wait_for_ready: bool | None = None,
        compression: grpc.Compression | None = None,
    ) -> _CallIterator[Any]:
        args = (timeout, metadata, credentials, wait_for_ready, compression)
        result: _CallIterator[Any] = self._stream(request, *args)
        return result


class _StreamUnary(_MultiCallable, _StreamUnaryBase):
    kind = "stream_unary"

    def __call__(
        self,
        request_iterator: Iterator[Any],
        timeout: float | None = None,
        metadata: Any = None,
        credentials: grpc.CallCredentials | None = None,
        wait_for_ready: bool | None = None,
        compression: grpc.Compression | None = None,
    ) -> Any:
        # Straight to the channel (this is every blocking RPC's path), and without asking
        # grpcio for a call object that nobody will see.
        return self._channel._unary(
            self,
            request_iterator,
            timeout,
            metadata,
            credentials,
            wait_for_ready,
            compression,
            want_call=False,
        )[0]

    def with_call(
        self,
        request_iterator: Iterator[Any],
        timeout: float | None = None,
        metadata: Any = None,
        credentials: grpc.CallCredentials | None = None,
        wait_for_ready: bool | None = None,
        compression: grpc.Compression | None = None,
    ) -> tuple[Any, grpc.Call]:
        args = (timeout, metadata, credentials, wait_for_ready, compression)
        return self._unary(request_iterator, *args)

    def future(
        self,
        request_iterator: Iterator[Any],
        timeout: float | None = None,
        metadata: Any = None,
        credentials: grpc.CallCredentials | None = None,
        wait_for_ready: bool | None = None,
        compression: grpc.Compression | None = None,
    ) -> _CallFuture[Any]:
        args = (timeout, metadata, credentials, wait_for_ready, compression)
        result: _CallFuture[Any] = self._future(request_iterator, *args)
        return result


class _StreamStream(_MultiCallable, _StreamStreamBase):
    kind = "stream_stream"

    def __call__(
        self,
        request_iterator: Iterator[Any],
        timeout: float | None = None,
        metadata: Any = None,
        credentials: grpc.CallCredentials | None = None,
        wait_for_ready: bool | None = None,
        compression: grpc.Compression | None = None,
    ) -> _CallIterator[Any]:
        args = (timeout, metadata, credentials, wait_for_ready, compression)
        result: _CallIterator[Any] = self._stream(request_iterator, *args)
        return result
