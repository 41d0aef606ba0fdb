"""Injected time: the clock and timer service every balancer receives.

Balancers read time only through :class:`Clock`, so a test, the conformance
adapter and a replay all drive time themselves.  :class:`VirtualClock` is the
deterministic one: time moves only when :meth:`VirtualClock.advance` is called,
and due timers fire in deadline order (ties in the order they were set).
"""

from __future__ import annotations

import abc
import heapq
import itertools
from collections.abc import Callable

from spec.types import Duration


class Timer(abc.ABC):
    @abc.abstractmethod
    def cancel(self) -> None:
        """Stop the timer; a no-op when it already fired or was cancelled."""


class Clock(abc.ABC):
    @abc.abstractmethod
    def now(self) -> Duration:
        """Time since an arbitrary fixed origin (monotonic)."""

    @abc.abstractmethod
    def call_later(self, delay: Duration, callback: Callable[[], None]) -> Timer:
        """Run ``callback`` on the balancer's serialised context after ``delay``."""


class VirtualTimer(Timer):
    """A :class:`VirtualClock`'s timer; ``deadline`` is nanoseconds on that clock."""

    __slots__ = ("callback", "cancelled", "deadline")

    def __init__(self, deadline: int, callback: Callable[[], None]) -> None:
        self.deadline = deadline
        self.callback = callback
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True


class VirtualClock(Clock):
    """A clock that moves only when told to."""

    def __init__(self) -> None:
        self._now = 0
        self._seq = itertools.count()
        self._heap: list[tuple[int, int, VirtualTimer]] = []

    def now(self) -> Duration:
        return Duration(self._now)

    def call_later(self, delay: Duration, callback: Callable[[], None]) -> Timer:
        timer = VirtualTimer(self._now + delay.nanos, callback)
        heapq.heappush(self._heap, (timer.deadline, next(self._seq), timer))
        return timer

    def pending(self) -> int:
        """How many timers are set and not cancelled."""
        return sum(1 for _, _, t in self._heap if not t.cancelled)

    def advance(
        self, by: Duration, run: Callable[[Callable[[], None]], None] | None = None
    ) -> None:
        """Move time forward by ``by``, firing every timer due on the way, in order.

        ``run`` wraps each callback (the driver uses it to drain follow-up work
        after each timer, as the channel's serialiser would).
        """
        target = self._now + by.nanos
        while self._heap and self._heap[0][0] <= target:
            deadline, _, timer = heapq.heappop(self._heap)
            if timer.cancelled:
                continue
            self._now = deadline
            timer.cancelled = True  # fired: a later cancel() is a no-op
            if run is None:
                timer.callback()
            else:
                run(timer.callback)
        self._now = target
