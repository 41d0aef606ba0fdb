"""The callback serialiser: one worker thread runs every call into the balancer, in order.

grpc-go runs each balancer behind a ``CallbackSerializer`` (internal/grpcsync/
callback_serializer.go): subchannel state callbacks, resolver updates, timers
and ``run_soon`` work are queued and run one at a time, never concurrently.
This is the same thing for threads:

* :meth:`Serialiser.schedule` queues a *step* from any thread.  The worker runs
  steps one at a time, under :attr:`Serialiser.lock`.
* :meth:`Serialiser.run_soon` queues follow-up work.  Called from inside a step
  (the worker, or a thread that holds the lock through :meth:`Serialiser.step`),
  it runs right after that step's callback returns, as part of the same step,
  exactly as the sans-IO driver drains follow-ups; from any other thread it is a
  step of its own.
* :meth:`Serialiser.call_later` runs a step after a delay (the real-time clock's
  timers, :mod:`refimpl.io.clock`).

A callback that raises is logged and recorded in :attr:`Serialiser.errors`; the
worker goes on, so one balancer bug cannot wedge the channel (tests assert the
list stays empty).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable

_LOG = logging.getLogger(__name__)

# A step whose follow-ups keep queuing more follow-ups is a balancer bug (same bound as
# the sans-IO driver's MAX_FOLLOW_UPS).
MAX_FOLLOW_UPS = 100_000

Callback = Callable[[], None]


class SerialiserClosedError(RuntimeError):
    """Work was scheduled after :meth:`Serialiser.close`."""


class ScheduledCall:
    """A delayed step; :meth:`cancel` stops it if it has not started."""

    __slots__ = ("callback", "cancelled", "deadline")

    def __init__(self, deadline: float, callback: Callback) -> None:
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class Serialiser:
    """Runs steps one at a time on a worker thread; see the module docstring."""

    def __init__(self, name: str = "balancer-serialiser") -> None:
        self.lock = threading.RLock()  # held while a step runs
        self.errors: list[BaseException] = []
        self._cond = threading.Condition(threading.Lock())
        self._queue: deque[Callback] = deque()
        self._timers: list[tuple[float, int, ScheduledCall]] = []
        self._seq = itertools.count()
        self._follow_ups: deque[Callback] = deque()
        self._step_thread: int | None = None  # the thread inside a step, if any
        self._closed = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # --- queuing work ---

    def schedule(self, callback: Callback) -> None:
        """Queue ``callback`` as a step of its own."""
        with self._cond:
            if self._closed:
                raise SerialiserClosedError("the channel is closed")
            self._queue.append(callback)
            self._cond.notify_all()

    def run_soon(self, callback: Callback) -> None:
        """``BuildOptions.run_soon``: after the current step's callback, else as a new step."""
        if self._step_thread == threading.get_ident():
            self._follow_ups.append(callback)
            return
        try:
            self.schedule(callback)
        except SerialiserClosedError:
            _LOG.debug("run_soon after close dropped")

    def call_later(self, delay_seconds: float, callback: Callback) -> ScheduledCall:
        """Run ``callback`` as a step once ``delay_seconds`` have passed."""
        call = ScheduledCall(time.monotonic() + max(0.0, delay_seconds), callback)
        with self._cond:
            if not self._closed:
                heapq.heappush(self._timers, (call.deadline, next(self._seq), call))
                self._cond.notify_all()
        return call

    # --- running work ---

    def step(self, callback: Callback) -> None:
        """Run ``callback`` now on the calling thread as one step (with its follow-ups).

        Used for work that must be linearised with the balancer's steps from the
        caller's own thread (picks, when a trace is recorded).
        """
        with self.lock:
            outer = self._step_thread
            self._step_thread = threading.get_ident()
            try:
                self._run_step(callback)
            finally:
                self._step_thread = outer

    def drain(self) -> None:
        """Run the follow-ups queued so far, now (call only from inside a step)."""
        if self._step_thread != threading.get_ident():
            raise RuntimeError("Serialiser.drain called outside a step")
        self._drain()

    def _run_step(self, callback: Callback) -> None:
        self._guarded(callback)
        self._drain()

    def _drain(self) -> None:
        for _ in range(MAX_FOLLOW_UPS):
            if not self._follow_ups:
                return
            self._guarded(self._follow_ups.popleft())
        self._follow_ups.clear()
        self._record(RuntimeError(f"more than {MAX_FOLLOW_UPS} follow-ups in one step"))

    def _guarded(self, callback: Callback) -> None:
        try:
            callback()
        except Exception as err:  # a balancer bug must not kill the worker
            self._record(err)

    def _record(self, err: BaseException) -> None:
        _LOG.exception("serialised callback failed", exc_info=err)
        self.errors.append(err)

    def _next(self) -> Callback | None:
        """The next due step, waiting for one; None once closed and drained."""
        with self._cond:
            while True:
                now = time.monotonic()
                while self._timers and self._timers[0][2].cancelled:
                    heapq.heappop(self._timers)
                if self._timers and self._timers[0][0] <= now:
                    return heapq.heappop(self._timers)[2].callback
                if self._queue:
                    return self._queue.popleft()
                if self._closed:
                    return None
                timeout = self._timers[0][0] - now if self._timers else None
                self._cond.wait(timeout)

    def _run(self) -> None:
        while (callback := self._next()) is not None:
            self.step(callback)

    # --- life cycle ---

    def close(self, final: Callback | None = None, timeout: float = 5.0) -> None:
        """Run ``final`` as the last step, drop pending timers, and stop the worker."""
        with self._cond:
            if self._closed:
                return
            if final is not None:
                self._queue.append(final)
            self._closed = True
            self._timers.clear()
            self._cond.notify_all()
        if threading.get_ident() != self._thread.ident:
            self._thread.join(timeout)

    @property
    def closed(self) -> bool:
        return self._closed
