"""Schedulers for weighted_round_robin: which endpoint the next pick goes to.

A scheduler is built from one vector of endpoint weights and answers
:meth:`Scheduler.next_index` many times, possibly from many threads at once.
weighted_round_robin rebuilds it every ``weightUpdatePeriod`` (WRR-12).

Three schedulers live here:

* :class:`RoundRobinScheduler` -- the fallback when weights carry no
  information (WRR-13): fewer than two endpoints with a known weight, or all
  weights equal.
* :class:`StaticStrideScheduler` -- what gRPC uses (grpc C++
  ``static_stride_scheduler.cc``, grpc-java ``StaticStrideScheduler``, grpc-go
  ``balancer/weightedroundrobin/scheduler.go``, ``edfScheduler``).  One shared
  sequence counter drives it (atomic in grpc-go, behind a lock here): sequence
  number ``s`` names endpoint ``s % n`` in generation ``s // n``, and that
  endpoint is picked in ``weight`` of every 65535 generations, spread evenly.
  Building it is O(n), and with the weight ratio caps (WRR-15) a pick costs
  O(1) sequence numbers on average whatever the number of endpoints (WRR-17).
* :class:`SmoothWeightedScheduler` -- the project seed's smooth weighted round
  robin (the nginx algorithm): every pick adds each endpoint's weight to its
  running credit, takes the endpoint with the most credit and charges it the
  total.  Its picks are spread at least as evenly, but each pick is O(n) and
  mutates shared state under a lock, which is why gRPC does not use it.

Both weighted schedulers are judged by the same rule, WRR-16: over any window
of W picks, endpoint i gets ``W * w_i / sum(w)`` picks within a stated
tolerance.  :func:`prepare_weights` applies the rules shared by both: unknown
(zero) weights take the mean of the known ones (WRR-14) and the optional ratio
caps (WRR-15).
"""

from __future__ import annotations

import abc
import enum
import math
import threading
from collections.abc import Sequence

import attrs

from refimpl.balancer import OptionError

# The largest scaled weight: weights are scaled so the largest is 2**16 - 1
# (grpc C++ kMaxWeight; grpc-go maxWeight).
MAX_WEIGHT = 0xFFFF
_UINT32 = 1 << 32


@attrs.frozen
class RatioCaps:
    """Bounds on each known weight relative to the mean of the known weights (WRR-15).

    grpc C++ (``static_stride_scheduler.cc``: kMaxRatio 10, kMinRatio 0.01)
    and grpc-java (``WeightedRoundRobinLoadBalancer``: 10 and 0.1) cap weights
    so a pick never loops for long; grpc-go applies no caps.
    """

    max_ratio: float = attrs.field(default=10.0)
    min_ratio: float = attrs.field(default=0.01)

    @max_ratio.validator
    def _check_max(self, _a: attrs.Attribute[float], value: float) -> None:
        if not value >= 1:
            raise OptionError(f"RatioCaps.max_ratio must be >= 1, got {value!r}")

    @min_ratio.validator
    def _check_min(self, _a: attrs.Attribute[float], value: float) -> None:
        if not 0 < value <= 1:
            raise OptionError(f"RatioCaps.min_ratio must be in (0, 1], got {value!r}")


# The caps of grpc C++, which this reference follows by default.
CPP_RATIO_CAPS = RatioCaps(10.0, 0.01)


def prepare_weights(weights: Sequence[float], caps: RatioCaps | None) -> list[float] | None:
    """The weights a weighted scheduler serves, or None when round robin must be used.

    WRR-13: fewer than two known (non-zero) weights -> None.  WRR-14: a zero
    weight means "unknown" and takes the mean of the known weights.  WRR-15:
    with ``caps``, known weights are clamped to ``[min_ratio, max_ratio]`` times
    that mean.  All-equal results also return None (WRR-13).  The result is
    relative to the largest input weight, which keeps every sum finite.
    """
    largest = max(weights, default=0.0)
    if largest > 0:
        weights = [w / largest for w in weights]  # scale-free, and sums cannot overflow
    known = [w for w in weights if w > 0]
    if len(known) < 2:
        return None
    mean = sum(known) / len(known)
    # Without caps the bounds (0, inf) leave every known weight as it is.
    low, high = (0.0, math.inf) if caps is None else (caps.min_ratio * mean, caps.max_ratio * mean)
    prepared = [mean if w <= 0 else min(max(w, low), high) for w in weights]
    if prepared.count(prepared[0]) == len(prepared):  # all equal
        return None
    return prepared


def scale_weights(weights: Sequence[float]) -> list[int]:
    """Scale prepared weights so the largest is :data:`MAX_WEIGHT`; never below 1.

    Rounding half away from zero, like C ``lround`` (grpc C++) and Go ``math.Round``.
    The floor of 1 keeps an endpoint pickable (grpc C++ ``weight_lower_bound``).
    """
    factor = MAX_WEIGHT / max(weights)
    rounded = [int(w * factor + 0.5) for w in weights]
    return [max(1, min(MAX_WEIGHT, r)) for r in rounded]


class SequenceCounter:
    """A shared, wrapping uint32 counter: the one piece of state picks share.

    grpc-go keeps it in the picker (``picker.idx``, an atomic uint32 started at a
    random value) so it survives scheduler rebuilds; here a lock guards it.
    """

    __slots__ = ("_lock", "_value")

    def __init__(self, start: int) -> None:
        self._value = start % _UINT32
        self._lock = threading.Lock()

    def next(self) -> int:
        """Add one and return the new value (Go's ``atomic.Uint32.Add(1)``)."""
        with self._lock:
            self._value = (self._value + 1) % _UINT32
            return self._value


class Scheduler(abc.ABC):
    """Chooses the index of the endpoint for the next pick.  Safe for concurrent use."""

    @property
    @abc.abstractmethod
    def size(self) -> int:
        """How many endpoints it chooses among."""

    @abc.abstractmethod
    def next_index(self) -> int: ...


class RoundRobinScheduler(Scheduler):
    """Endpoint ``s % n`` for each sequence number ``s``: plain round robin (WRR-13)."""

    def __init__(self, size: int, counter: SequenceCounter) -> None:
        if size < 1:
            raise OptionError(f"a scheduler needs at least one endpoint, got {size}")
        self._size = size
        self._counter = counter

    @property
    def size(self) -> int:
        return self._size

    def next_index(self) -> int:
        return self._counter.next() % self._size


class StaticStrideScheduler(Scheduler):
    """gRPC's weighted scheduler (A58 calls it EDF; grpc C++ names it static stride).

    Sequence number ``s`` names endpoint ``i = s % n`` in generation
    ``g = s // n``.  Endpoint ``i`` is taken when
    ``(w_i * g + i * OFFSET) mod 65535 >= 65535 - w_i``, which holds for
    exactly ``w_i`` of every 65535 consecutive generations, evenly spread (the
    test is "does ``(w_i * g + c) / 65535`` cross an integer between ``g`` and
    ``g + 1``").  Otherwise the sequence number is skipped and the next one
    tried.  The per-index offset staggers endpoints of equal weight.
    """

    _OFFSET = MAX_WEIGHT // 2

    def __init__(self, scaled: Sequence[int], counter: SequenceCounter) -> None:
        if len(scaled) < 1:
            raise OptionError("a scheduler needs at least one endpoint")
        for i, w in enumerate(scaled):
            if isinstance(w, bool) or not isinstance(w, int) or not 1 <= w <= MAX_WEIGHT:
                raise OptionError(f"scaled weight [{i}] must be an int in [1, 65535], got {w!r}")
        self.weights = tuple(scaled)
        self._counter = counter

    @property
    def size(self) -> int:
        return len(self.weights)

    def next_index(self) -> int:
        n = len(self.weights)
        while True:
            sequence = self._counter.next()
            index, generation = sequence % n, sequence // n
            weight = self.weights[index]
            if (weight * generation + index * self._OFFSET) % MAX_WEIGHT >= MAX_WEIGHT - weight:
                return index


class SmoothWeightedScheduler(Scheduler):
    """The seed's smooth weighted round robin over static weights.

    Each pick: every endpoint's credit grows by its weight, the endpoint with the
    most credit (the first on ties) is chosen and its credit drops by the total.
    Credits always sum to zero, so no endpoint ever runs far ahead of its share
    (WRR-16).  O(n) per pick, under a lock.
    """

    def __init__(self, weights: Sequence[float]) -> None:
        if len(weights) < 1:
            raise OptionError("a scheduler needs at least one endpoint")
        for i, w in enumerate(weights):
            if not w > 0:
                raise OptionError(f"weight [{i}] must be > 0, got {w!r}")
        self.weights = tuple(float(w) for w in weights)
        self._total = sum(self.weights)
        self._credit = [0.0] * len(self.weights)
        self._lock = threading.Lock()

    @property
    def size(self) -> int:
        return len(self.weights)

    def next_index(self) -> int:
        with self._lock:
            credit = self._credit
            best = 0
            for i, w in enumerate(self.weights):
                credit[i] += w
                if credit[i] > credit[best]:
                    best = i
            credit[best] -= self._total
            return best


class SchedulerKind(enum.Enum):
    """Which weighted scheduler a weighted_round_robin balancer builds."""

    STATIC_STRIDE = "static_stride"  # gRPC's (default)
    SMOOTH = "smooth"  # the project seed's


def build_scheduler(
    kind: SchedulerKind,
    weights: Sequence[float],
    counter: SequenceCounter,
    caps: RatioCaps | None = CPP_RATIO_CAPS,
) -> Scheduler:
    """The scheduler for one weight vector, with the shared fallbacks (WRR-13..WRR-15)."""
    if len(weights) < 1:
        raise OptionError("a scheduler needs at least one endpoint")
    prepared = prepare_weights(weights, caps)
    if prepared is None:
        return RoundRobinScheduler(len(weights), counter)
    if kind is SchedulerKind.SMOOTH:
        return SmoothWeightedScheduler(prepared)
    scaled = scale_weights(prepared)
    if scaled.count(scaled[0]) == len(scaled):  # equal after rounding: grpc-go's allEqual
        return RoundRobinScheduler(len(weights), counter)
    return StaticStrideScheduler(scaled, counter)
