"""A server-streaming watch on one subchannel, run on a thread, retried with backoff.

Client-side health checking (gRFC A17) and out-of-band ORCA load reports
(gRFC A51/A58) both keep one server-streaming RPC open on a READY subchannel and
turn each message into an event for the balancer.  Both retry a failed stream
with exponential backoff, and both reset the backoff once a message arrived
(A17, "Client Workflow"; grpc-go orca/producer.go, ``run``).  This module holds
that shared loop; the callbacks decide what a message, a failure or an
``UNIMPLEMENTED`` answer means.

The thread never calls the balancer: every callback is expected to post into
the channel's serialiser.
"""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from typing import Any

import attrs
import grpc

_LOG = logging.getLogger(__name__)


@attrs.frozen
class Backoff:
    """gRPC's connection backoff (doc/connection-backoff.md): base, factor, jitter, cap."""

    initial: float = 1.0
    multiplier: float = 1.6
    jitter: float = 0.2
    maximum: float = 120.0

    def delay(self, retries: int, rng: random.Random) -> float:
        """The wait before retry number ``retries`` (0 = the first retry)."""
        base = min(self.initial * self.multiplier**retries, self.maximum)
        return max(0.0, base * (1 + rng.uniform(-self.jitter, self.jitter)))


OpenStream = Callable[[], Any]  # grpcio's streaming call: an iterator and a grpc.Call


class StreamWatch:
    """Keeps a server-streaming RPC open until :meth:`stop`; see the module docstring.

    ``open_stream`` starts the RPC and returns grpcio's call object (an iterator
    that is also a ``grpc.Call``).  ``on_attempt`` runs as each attempt starts,
    ``on_message`` for each message, ``on_failure`` with the status code and
    details when an attempt ends; it returns True to retry after backoff.
    """

    def __init__(
        self,
        name: str,
        open_stream: OpenStream,
        *,
        on_attempt: Callable[[], None],
        on_message: Callable[[Any], None],
        on_failure: Callable[[grpc.StatusCode, str], bool],
        backoff: Backoff,
        seed: int,
    ) -> None:
        self._open = open_stream
        self._on_attempt = on_attempt
        self._on_message = on_message
        self._on_failure = on_failure
        self._backoff = backoff
        self._rng = random.Random(seed)
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._call: Any = None
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Cancel the stream; no callback runs after this returns... except one in flight."""
        self._stopped.set()
        with self._lock:
            call = self._call
        if call is not None:
            call.cancel()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def _run(self) -> None:
        retries = 0
        while not self._stopped.is_set():
            self._on_attempt()
            code, details = grpc.StatusCode.OK, "the server ended the stream"
            try:
                call = self._open()
                with self._lock:
                    self._call = call
                if self._stopped.is_set():
                    call.cancel()
                    return
                for message in call:
                    if self._stopped.is_set():
                        return
                    retries = 0  # A17: a message resets the backoff
                    self._on_message(message)
            except grpc.RpcError as err:
                if self._stopped.is_set():
                    return
                code = err.code()
                details = err.details() or code.name
            except Exception as err:  # a bad message must not end the watch silently
                _LOG.exception("stream watch %s failed", self._thread.name)
                code, details = grpc.StatusCode.INTERNAL, str(err)
            finally:
                with self._lock:
                    self._call = None
            if self._stopped.is_set() or not self._on_failure(code, details):
                return
            # The first retry after a message comes at once (A17); later ones back off.
            delay = 0.0 if retries == 0 else self._backoff.delay(retries - 1, self._rng)
            retries += 1
            if self._stopped.wait(delay):
                return
