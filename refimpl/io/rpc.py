"""Call objects the balanced channel hands back when grpcio's own cannot be used.

* :class:`RpcFailure` -- an RPC that the channel ended before it reached any
  subchannel: the picker failed or dropped it, its deadline passed while it
  waited for a picker, or the channel closed.  Like grpcio's own failed call it
  is a ``grpc.RpcError`` and a ``grpc.Call``; for streaming RPCs it is also the
  response iterator, which raises it.
* :class:`RpcFuture` -- ``future()`` of a unary-response RPC: the pick (which
  may wait) and the call run on a thread of their own.

Status codes cross as :class:`spec.types.StatusCode`; :func:`to_grpc_code` and
:func:`from_grpc_code` convert by number.
"""

from __future__ import annotations

import threading
import traceback as tb
from collections.abc import Callable, Iterator
from typing import Any

import grpc

from spec.types import Status, StatusCode

Metadata = tuple[tuple[str, str | bytes], ...]

_GRPC_BY_NUMBER = {code.value[0]: code for code in grpc.StatusCode}


def to_grpc_code(code: StatusCode) -> grpc.StatusCode:
    return _GRPC_BY_NUMBER[int(code)]


def from_grpc_code(code: grpc.StatusCode | None) -> StatusCode:
    if code is None:
        return StatusCode.UNKNOWN
    number: int = code.value[0]
    return StatusCode(number)


def metadata_pairs(metadata: Any) -> Metadata:
    """grpcio metadata as ``(key, value)`` pairs, whatever form it came in."""
    pairs: list[tuple[str, str | bytes]] = []
    for item in metadata or ():
        if isinstance(item, tuple):
            key, value = item
        else:  # grpcio's _Metadatum named tuple, or an object with key/value
            key, value = item.key, item.value
        pairs.append((str(key), value))
    return tuple(pairs)


class RpcFailure(grpc.RpcError, grpc.Call, grpc.Future):  # type: ignore[type-arg]
    """A finished RPC that failed inside the channel, before any subchannel saw it."""

    def __init__(self, status: Status) -> None:
        super().__init__(str(status))
        self.status = status

    def __repr__(self) -> str:
        return f"RpcFailure({self.status})"

    # grpc.RpcError / grpc.Call
    def code(self) -> grpc.StatusCode:
        return to_grpc_code(self.status.code)

    def details(self) -> str:
        return self.status.message

    def initial_metadata(self) -> Metadata:
        return ()

    def trailing_metadata(self) -> Any:  # the stubs disagree between RpcError and Call
        return ()

    def is_active(self) -> bool:
        return False

    def time_remaining(self) -> float:
        return 0.0

    def add_callback(self, callback: Callable[[], None]) -> bool:
        return False  # the RPC is over: grpc's contract says the callback is not added

    # grpc.Future
    def cancel(self) -> bool:
        return False

    def cancelled(self) -> bool:
        return self.status.code is StatusCode.CANCELLED

    def running(self) -> bool:
        return False

    def done(self) -> bool:
        return True

    def result(self, timeout: float | None = None) -> Any:
        raise self

    def exception(self, timeout: float | None = None) -> Exception | None:
        return self

    def traceback(self, timeout: float | None = None) -> Any:
        return None

    def add_done_callback(self, fn: Callable[[Any], None]) -> None:
        fn(self)

    # the response iterator of a streaming RPC
    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        raise self


class RpcFuture(grpc.Call, grpc.Future):  # type: ignore[type-arg]
    """``future()`` for unary-response RPCs: ``run`` (pick + call) on a thread.

    ``run`` returns ``(response, call)`` or raises ``grpc.RpcError``.  ``cancel``
    succeeds only before the RPC was handed to a subchannel (``cancel_check``
    lets ``run`` see it); after that grpcio owns the call.
    """

    def __init__(self, run: Callable[[Callable[[], bool]], tuple[Any, grpc.Call]]) -> None:
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._callbacks: list[Callable[[Any], None]] = []
        self._response: Any = None
        self._call: grpc.Call | None = None
        self._error: Exception | None = None
        self._traceback: Any = None
        self._cancelled = False
        self._handed_over = False
        self._thread = threading.Thread(target=self._run, args=(run,), daemon=True)
        self._thread.start()

    def _cancel_check(self) -> bool:
        """Called by ``run`` right before it starts the call: True means stop."""
        with self._lock:
            self._handed_over = not self._cancelled
            return self._cancelled

    def _run(self, run: Callable[[Callable[[], bool]], tuple[Any, grpc.Call]]) -> None:
        try:
            self._response, self._call = run(self._cancel_check)
        except Exception as err:
            self._error = err
            self._traceback = tb.extract_tb(err.__traceback__)
            if isinstance(err, grpc.Call):
                self._call = err
        with self._lock:
            self._done.set()
            callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            fn(self)

    def _wait(self, timeout: float | None) -> None:
        if not self._done.wait(timeout):
            raise grpc.FutureTimeoutError()

    # grpc.Future
    def cancel(self) -> bool:
        with self._lock:
            if self._done.is_set() or self._handed_over:
                return False
            self._cancelled = True
            return True

    def cancelled(self) -> bool:
        return self._cancelled

    def running(self) -> bool:
        return not self._done.is_set()

    def done(self) -> bool:
        return self._done.is_set()

    def result(self, timeout: float | None = None) -> Any:
        self._wait(timeout)
        if self._error is not None:
            raise self._error
        return self._response

    def exception(self, timeout: float | None = None) -> Exception | None:
        self._wait(timeout)
        return self._error

    def traceback(self, timeout: float | None = None) -> Any:
        self._wait(timeout)
        return self._traceback

    def add_done_callback(self, fn: Callable[[Any], None]) -> None:
        with self._lock:
            if not self._done.is_set():
                self._callbacks.append(fn)
                return
        fn(self)

    # grpc.Call: answered by the finished call
    def _finished(self) -> grpc.Call:
        self._wait(None)
        if self._call is None:  # run raised something that is not an RPC error
            return RpcFailure(Status(StatusCode.UNKNOWN, repr(self._error)))
        return self._call

    def code(self) -> grpc.StatusCode:
        return self._finished().code()

    def details(self) -> str:
        return self._finished().details()

    def initial_metadata(self) -> Metadata:
        return metadata_pairs(self._finished().initial_metadata())

    def trailing_metadata(self) -> Metadata:
        return metadata_pairs(self._finished().trailing_metadata())

    def is_active(self) -> bool:
        return not self._done.is_set()

    def time_remaining(self) -> float:
        return 0.0 if self._done.is_set() else float("inf")

    def add_callback(self, callback: Callable[[], None]) -> bool:
        with self._lock:
            if self._done.is_set():
                return False
            self._callbacks.append(lambda _f: callback())
            return True
