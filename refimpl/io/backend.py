"""A small gRPC backend on 127.0.0.1 for tests and the demo.

It answers with its own name, so a client can count where its RPCs went, and
it can be steered while running:

* :meth:`Backend.stop` and :meth:`Backend.start` (again) -- down and back up on
  the same port;
* :meth:`Backend.set_serving` -- flip its ``grpc.health.v1`` status;
* :meth:`Backend.set_load` -- attach an ORCA report to every response (trailers
  ``endpoint-load-metrics-bin`` and ``endpoint-load-metrics``) and serve it out of band
  (``OpenRcaService/StreamCoreMetrics``);
* :meth:`Backend.set_delay` -- hold every call for a while before answering.

Its health service is ``health="standard"`` (grpcio-health-checking's servicer),
``"absent"`` (none: Watch answers UNIMPLEMENTED), ``"flaky"`` (Watch sends the
current status, then fails UNAVAILABLE) or ``"failing"`` (Watch fails
UNAVAILABLE at once); :attr:`Backend.health_watches` counts the Watch calls of the last two.

Methods of service ``lbtest.Backend`` (raw bytes, no generated code needed):
``Whoami`` (unary), ``WhoamiStream`` (unary-stream: the request is the number
of answers, as ASCII digits), ``Collect`` (stream-unary: answers
``name:count``) and ``Echo`` (stream-stream: one answer per request).

Every wait inside is bounded, and :meth:`Backend.stop` ends every stream the
backend holds open.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent import futures
from typing import Any

import grpc
from grpc_health.v1 import health as health_servicer
from grpc_health.v1 import health_pb2, health_pb2_grpc

from refimpl.io import orca
from spec.types import OrcaLoadReport

SERVICE = "lbtest.Backend"
WHOAMI = f"/{SERVICE}/Whoami"
WHOAMI_STREAM = f"/{SERVICE}/WhoamiStream"
COLLECT = f"/{SERVICE}/Collect"
ECHO = f"/{SERVICE}/Echo"

LOCALHOST = "127.0.0.1"
# A stopped backend's port is bound again; give the kernel a few tries.
BIND_ATTEMPTS = 20
BIND_RETRY_SECONDS = 0.05
STOP_TIMEOUT_SECONDS = 5.0
MIN_OOB_INTERVAL_SECONDS = 0.01
HEALTH_MODES = ("standard", "absent", "flaky", "failing")
FLAKY_HOLD_SECONDS = 0.05  # how long a flaky Watch stays open after its one answer
HEALTH_WATCH = "/grpc.health.v1.Health/Watch"


class Backend:
    """One backend server; see the module docstring.  Use as a context manager or stop it."""

    def __init__(
        self, name: str, *, port: int = 0, workers: int = 16, health: str = "standard"
    ) -> None:
        if health not in HEALTH_MODES:
            raise ValueError(f"health must be one of {HEALTH_MODES}, got {health!r}")
        self.name = name
        self.health_mode = health
        self.health_watches = 0
        self.port = port
        self._workers = workers
        self._lock = threading.Lock()
        self._server: grpc.Server | None = None
        self._health: health_servicer.HealthServicer | None = None
        self._stopped = threading.Event()
        self._serving: dict[str, bool] = {"": True}
        self._load: OrcaLoadReport | None = None
        self._delay = 0.0
        self.calls = 0  # RPCs of lbtest.Backend answered since creation
        self.in_flight = 0
        self.max_in_flight = 0

    # --- life cycle ---

    @property
    def address(self) -> str:
        if not self.port:
            raise RuntimeError(f"backend {self.name} was never started")
        return f"{LOCALHOST}:{self.port}"

    @property
    def running(self) -> bool:
        return self._server is not None

    def start(self) -> Backend:
        """Start serving (on the same port as before after a stop)."""
        with self._lock:
            if self._server is not None:
                return self
            server = grpc.server(futures.ThreadPoolExecutor(max_workers=self._workers))
            server.add_generic_rpc_handlers((self._handlers(),))
            servicer = health_servicer.HealthServicer()
            if self.health_mode == "standard":
                health_pb2_grpc.add_HealthServicer_to_server(servicer, server)
            for service, serving in self._serving.items():
                servicer.set(service, _health_status(serving))
            self.port = _bind(server, self.port)
            self._stopped = threading.Event()
            server.start()
            self._server, self._health = server, servicer
        return self

    def stop(self, grace: float | None = None) -> None:
        """Stop serving; running calls are cancelled (after ``grace`` seconds, if given)."""
        with self._lock:
            server, self._server, self._health = self._server, None, None
            self._stopped.set()
        if server is not None:
            server.stop(grace).wait(STOP_TIMEOUT_SECONDS)

    def __enter__(self) -> Backend:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    # --- steering ---

    def set_serving(self, serving: bool, service: str = "") -> None:
        """Set the health status of ``service`` ("" is the whole server): SERVING or NOT_SERVING."""
        with self._lock:
            self._serving[service] = serving
            servicer = self._health
        if servicer is not None:
            servicer.set(service, _health_status(serving))

    def set_load(self, report: OrcaLoadReport | None) -> None:
        """Report ``report`` per call and out of band (None: report nothing)."""
        with self._lock:
            self._load = report

    def set_delay(self, seconds: float) -> None:
        """Hold each call this long before answering."""
        with self._lock:
            self._delay = max(0.0, seconds)

    # --- handlers ---

    def _handlers(self) -> grpc.GenericRpcHandler:
        return _Handlers(self)

    def _begin(self, context: grpc.ServicerContext) -> None:
        with self._lock:
            self.calls += 1
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            delay, stopped, load = self._delay, self._stopped, self._load
        if delay:
            stopped.wait(delay)  # a stop ends the wait early
        if load is not None:
            # The binary trailer is what grpcio's own policies read; the text one is what
            # a Python client can see (refimpl/io/orca.py explains why both).
            context.set_trailing_metadata(
                (
                    (orca.TRAILER_KEY, orca.encode(load)),
                    (orca.TEXT_TRAILER_KEY, orca.encode_text(load)),
                )
            )

    def _end(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _whoami(self, _request: bytes, context: grpc.ServicerContext) -> bytes:
        self._begin(context)
        try:
            return self.name.encode()
        finally:
            self._end()

    def _whoami_stream(self, request: bytes, context: grpc.ServicerContext) -> Iterator[bytes]:
        self._begin(context)
        try:
            count = int(request.decode() or "1")
            for _ in range(min(count, 1000)):
                yield self.name.encode()
        finally:
            self._end()

    def _collect(self, requests: Iterator[bytes], context: grpc.ServicerContext) -> bytes:
        self._begin(context)
        try:
            count = sum(1 for _ in requests)
            return f"{self.name}:{count}".encode()
        finally:
            self._end()

    def _echo(self, requests: Iterator[bytes], context: grpc.ServicerContext) -> Iterator[bytes]:
        self._begin(context)
        try:
            for _ in requests:
                yield self.name.encode()
        finally:
            self._end()

    def _broken_watch(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        """Health/Watch of the "flaky" and "failing" modes."""
        with self._lock:
            self.health_watches += 1
            serving = self._serving.get(request.service)
            stopped = self._stopped
        if self.health_mode == "flaky" and serving is not None:
            yield health_pb2.HealthCheckResponse(status=_health_status(serving))
            stopped.wait(FLAKY_HOLD_SECONDS)
        context.abort(grpc.StatusCode.UNAVAILABLE, f"{self.name}: health service broken")

    def _orca_stream(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        """OpenRcaService/StreamCoreMetrics: the current load every requested interval."""
        interval = max(MIN_OOB_INTERVAL_SECONDS, orca.oob_interval_from_request(request))
        with self._lock:
            stopped = self._stopped
        while context.is_active() and not stopped.is_set():
            with self._lock:
                load = self._load
            if load is not None:
                yield orca.to_proto(load)
            stopped.wait(interval)


class _Handlers(grpc.GenericRpcHandler):
    """Routes lbtest.Backend and the ORCA service to a :class:`Backend`."""

    def __init__(self, backend: Backend) -> None:
        self._handlers: dict[str, grpc.RpcMethodHandler[Any, Any]] = {
            WHOAMI: grpc.unary_unary_rpc_method_handler(backend._whoami),
            WHOAMI_STREAM: grpc.unary_stream_rpc_method_handler(backend._whoami_stream),
            COLLECT: grpc.stream_unary_rpc_method_handler(backend._collect),
            ECHO: grpc.stream_stream_rpc_method_handler(backend._echo),
            orca.OOB_METHOD: grpc.unary_stream_rpc_method_handler(
                backend._orca_stream,
                request_deserializer=orca.oob_request_from_bytes,
                response_serializer=orca.serialize_message,
            ),
        }

        if backend.health_mode in ("flaky", "failing"):
            self._handlers[HEALTH_WATCH] = grpc.unary_stream_rpc_method_handler(
                backend._broken_watch,
                request_deserializer=health_pb2.HealthCheckRequest.FromString,
                response_serializer=orca.serialize_message,
            )

    def service(
        self, handler_call_details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        return self._handlers.get(handler_call_details.method)


def _health_status(serving: bool) -> Any:
    return (
        health_pb2.HealthCheckResponse.SERVING
        if serving
        else health_pb2.HealthCheckResponse.NOT_SERVING
    )


def _bind(server: grpc.Server, port: int) -> int:
    """Bind ``server`` to 127.0.0.1:``port`` (0: any free port), retrying a busy port briefly."""
    for attempt in range(BIND_ATTEMPTS):
        try:
            bound = server.add_insecure_port(f"{LOCALHOST}:{port}")
        except RuntimeError:
            bound = 0
        if bound:
            return bound
        if attempt + 1 < BIND_ATTEMPTS:
            time.sleep(BIND_RETRY_SECONDS)
    raise RuntimeError(f"could not bind {LOCALHOST}:{port} after {BIND_ATTEMPTS} attempts")
