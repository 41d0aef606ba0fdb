"""The least_request_experimental policy (gRFC A48): power of k choices over outstanding RPCs.

Requirements LR-1..LR-11 (``spec/catalogue/least_request.py``); grpc-go
``balancer/leastrequest/leastrequest.go`` restated:

* Config: ``choiceCount`` defaults to 2, below 2 is an error, above 10 counts
  as 10 (LR-1..LR-4).  An update without a config is a bad resolver state (LR-5).
* Children: round_robin's machinery, one pick_first child per endpoint watching
  health (endpointsharding).  With no READY endpoint the endpointsharding state
  and picker pass through (LR-6).
* Picker: choiceCount samples with replacement from the READY endpoints, drawn
  from ``BuildOptions.random``; a later sample replaces the candidate only when
  it has strictly fewer outstanding RPCs (LR-7).  The chosen endpoint's count
  goes up when its child's pick completes and down in that RPC's Done,
  whatever the status (LR-8).
* Counts are kept per endpoint across pickers while it stays READY and dropped
  as soon as it is not (LR-9).  grpc-go drops them only when it next builds a
  least-request picker, so an endpoint that leaves and regains READY while no
  endpoint is READY keeps its old count there; A48 ties counters to the
  subchannel's lifecycle, which is what this reference does.

``Selection.FULL_SCAN`` is the project seed's variant (LR-11): it picks an
endpoint with the smallest count (the first such in the picker's order) and
keeps the same accounting.
"""

from __future__ import annotations

import enum
import threading
from collections.abc import Sequence

import attrs

from refimpl.balancer import (
    Complete,
    ConfigError,
    DoneInfo,
    JsonValue,
    Picker,
    PickInfo,
    PickResult,
    RandomSource,
)

NAME = "least_request_experimental"
DEFAULT_CHOICE_COUNT = 2  # LR-1
MIN_CHOICE_COUNT = 2  # LR-2
MAX_CHOICE_COUNT = 10  # LR-3
_UINT32_MAX = 2**32 - 1


class Selection(enum.Enum):
    """How a pick chooses among the READY endpoints."""

    SAMPLE = "sample"  # gRFC A48: choiceCount random samples (default)
    FULL_SCAN = "full_scan"  # the project seed: the global minimum


def _check_choice_count(_inst: object, _a: attrs.Attribute[int], value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError("choiceCount", f"must be an integer, got {value!r}")
    if not MIN_CHOICE_COUNT <= value <= MAX_CHOICE_COUNT:
        raise ConfigError(
            "choiceCount", f"must be in [{MIN_CHOICE_COUNT}, {MAX_CHOICE_COUNT}], got {value}"
        )


@attrs.frozen
class LeastRequestConfig:
    """The parsed config; ``choice_count`` is already clamped to [2, 10]."""

    choice_count: int = attrs.field(default=DEFAULT_CHOICE_COUNT, validator=_check_choice_count)


def parse_config(raw: JsonValue) -> LeastRequestConfig:
    """Parse the JSON config (LR-1..LR-4); a bad one raises :class:`ConfigError`."""
    if not isinstance(raw, dict):
        raise ConfigError("", f"least_request_experimental config must be a JSON object: {raw!r}")
    value = raw.get("choiceCount")
    if value is None:  # absent, or JSON null: the default (LR-1)
        return LeastRequestConfig()
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError("choiceCount", f"must be a JSON integer, got {value!r}")  # LR-4
    if not 0 <= value <= _UINT32_MAX:
        raise ConfigError("choiceCount", f"must fit an unsigned 32-bit integer, got {value}")
    if value < MIN_CHOICE_COUNT:
        raise ConfigError("choiceCount", f"must be >= {MIN_CHOICE_COUNT}, got {value}")  # LR-2
    return LeastRequestConfig(min(value, MAX_CHOICE_COUNT))  # LR-3


class OutstandingCounter:
    """One endpoint's outstanding RPCs (LR-8).  Picks and Dones change it from any thread."""

    __slots__ = ("_lock", "_value")

    def __init__(self) -> None:
        self._value = 0
        self._lock = threading.Lock()

    @property
    def value(self) -> int:
        return self._value

    def add(self, delta: int) -> None:
        with self._lock:
            self._value += delta


@attrs.frozen
class PickTarget:
    """A READY endpoint as the picker sees it: its child's picker and its counter."""

    picker: Picker
    counter: OutstandingCounter


class LeastRequestPicker(Picker):
    """Chooses the endpoint with the fewest outstanding RPCs among random samples (LR-7)."""

    def __init__(
        self,
        targets: Sequence[PickTarget],
        choice_count: int,
        rng: RandomSource,
        selection: Selection = Selection.SAMPLE,
    ) -> None:
        if not targets:
            raise ValueError("a least-request picker needs at least one READY endpoint")
        self.targets = tuple(targets)
        self.choice_count = choice_count
        self._rng = rng
        self.selection = selection

    def choose(self) -> PickTarget:
        """The endpoint for the next pick (LR-7, or LR-11 for the full scan)."""
        if self.selection is Selection.FULL_SCAN:
            return min(self.targets, key=lambda t: t.counter.value)  # the first minimum
        n = len(self.targets)
        chosen = self.targets[self._rng.randrange(n)]
        fewest = chosen.counter.value
        for _ in range(self.choice_count - 1):
            sample = self.targets[self._rng.randrange(n)]
            outstanding = sample.counter.value
            if outstanding < fewest:  # strictly: a tie keeps the earlier sample
                chosen, fewest = sample, outstanding
        return chosen

    def pick(self, info: PickInfo) -> PickResult:
        target = self.choose()
        result = target.picker.pick(info)
        if not isinstance(result, Complete):
            return result  # only a completed pick counts (LR-8)
        counter = target.counter
        counter.add(1)
        child_done = result.done

        def done(done_info: DoneInfo) -> None:
            counter.add(-1)  # whatever the status (LR-8)
            if child_done is not None:
                child_done(done_info)

        return attrs.evolve(result, done=done)
