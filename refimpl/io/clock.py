"""A real-time :class:`~refimpl.clock.Clock` whose timers run as serialised steps.

Balancers read time only through ``BuildOptions.clock``; in the real-I/O channel
that clock is this one: ``now`` is the monotonic clock, and a timer posts its
callback into the channel's :class:`~refimpl.io.serialiser.Serialiser`, so it
never runs concurrently with another call into the balancer.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from refimpl.clock import Clock, Timer
from refimpl.io.serialiser import ScheduledCall, Serialiser
from spec.types import Duration


class _RealTimer(Timer):
    __slots__ = ("_call",)

    def __init__(self, call: ScheduledCall) -> None:
        self._call = call

    def cancel(self) -> None:
        self._call.cancel()


class RealClock(Clock):
    """Monotonic time; timers fire on ``serialiser``'s worker thread."""

    def __init__(
        self,
        serialiser: Serialiser,
        on_fire: Callable[[Duration, Callable[[], None]], None] | None = None,
    ) -> None:
        self._serialiser = serialiser
        self._origin = time.monotonic_ns()
        # Wraps each firing (the channel records it as a TimeAdvanced step of its trace).
        self._on_fire = on_fire

    def now(self) -> Duration:
        return Duration(time.monotonic_ns() - self._origin)

    def call_later(self, delay: Duration, callback: Callable[[], None]) -> Timer:
        on_fire = self._on_fire
        if on_fire is None:
            return _RealTimer(self._serialiser.call_later(delay.seconds, callback))

        def fire() -> None:
            on_fire(self.now(), callback)

        return _RealTimer(self._serialiser.call_later(delay.seconds, fire))
