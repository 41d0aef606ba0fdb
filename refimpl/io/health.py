"""Client-side health checking (gRFC A17) on one READY subchannel.

While the subchannel is READY and its policy registered a health listener, and
the service config names ``healthCheckConfig.serviceName``, a
``grpc.health.v1.Health/Watch`` stream runs on the subchannel's connection:

* each attempt first reports CONNECTING: A17 keeps the subchannel out of READY
  until the first answer (HC-1);
* SERVING reports READY; any other serving status reports TRANSIENT_FAILURE
  (HC-2);
* UNIMPLEMENTED means the server has no health service: report READY and stop
  checking on this connection (HC-3);
* any other failure reports TRANSIENT_FAILURE and retries with exponential
  backoff, at once after a stream that delivered a message (HC-4).

Consecutive identical reports are sent once: the listener hears changes.
The watch is cancelled when the subchannel leaves READY or shuts down (HC-5).
grpc-go's implementation is ``health/producer.go`` and ``health/client.go``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import grpc
from grpc_health.v1 import health_pb2

from refimpl.balancer import SubConnState
from refimpl.io.streams import Backoff, StreamWatch
from spec.connectivity import State
from spec.types import Status, StatusCode

WATCH_METHOD = "/grpc.health.v1.Health/Watch"


def open_watch(channel: grpc.Channel, service: str) -> Iterator[Any]:
    """Start Health/Watch for ``service`` on ``channel``."""
    call = channel.unary_stream(
        WATCH_METHOD,
        request_serializer=health_pb2.HealthCheckRequest.SerializeToString,
        response_deserializer=health_pb2.HealthCheckResponse.FromString,
    )
    return call(health_pb2.HealthCheckRequest(service=service), wait_for_ready=False)


def state_for_response(response: Any) -> SubConnState:
    """HC-2: SERVING is READY; every other serving status is TRANSIENT_FAILURE."""
    status = response.status
    if status == health_pb2.HealthCheckResponse.SERVING:
        return SubConnState(State.READY)
    name = health_pb2.HealthCheckResponse.ServingStatus.Name(status)
    return SubConnState(
        State.TRANSIENT_FAILURE,
        Status(StatusCode.UNAVAILABLE, f"connection active but health check failed: {name}"),
    )


class HealthWatch:
    """Runs the A17 watch for one subchannel; ``report`` gets each new health state.

    ``report`` is called from the watch thread; it must post into the serialiser.
    """

    def __init__(
        self,
        channel: grpc.Channel,
        service: str,
        report: Callable[[SubConnState], None],
        *,
        backoff: Backoff,
        seed: int,
        name: str,
    ) -> None:
        self._report = report
        self._last: SubConnState | None = None
        self._watch = StreamWatch(
            name,
            lambda: open_watch(channel, service),
            on_attempt=lambda: self._send(SubConnState(State.CONNECTING)),  # HC-1
            on_message=lambda response: self._send(state_for_response(response)),
            on_failure=self._on_failure,
            backoff=backoff,
            seed=seed,
        )

    def stop(self) -> None:
        self._watch.stop()

    def _send(self, state: SubConnState) -> None:
        if state != self._last and not self._watch_stopped():
            self._last = state
            self._report(state)

    def _watch_stopped(self) -> bool:
        # The StreamWatch starts its thread in its constructor, so a first report may
        # come before self._watch is assigned.
        watch = getattr(self, "_watch", None)
        return watch is not None and watch.stopped

    def _on_failure(self, code: grpc.StatusCode, details: str) -> bool:
        if code is grpc.StatusCode.UNIMPLEMENTED:  # HC-3: no health service; stop checking
            self._send(SubConnState(State.READY))
            return False
        self._send(  # HC-4: fail, then retry with backoff
            SubConnState(
                State.TRANSIENT_FAILURE,
                Status(StatusCode.UNAVAILABLE, f"health check RPC failed: {code.name}: {details}"),
            )
        )
        return True
