"""WRR-20: each new weighted_round_robin picker starts its sequence at a random position.

The case ``wrr-new-picker-starts-at-random-position`` judges it across 400 pickers
(conformance/across.py, false-alarm bound < 1e-7).  Here the reference passes it, and
two broken pickers fail it: one whose sequence starts at 0, and one sharing a counter
with every other picker (grpc-java's and C-core's shared_counter, which the case is
not written for).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

import refimpl.weighted_round_robin as wrr
from conformance.cases import load_cases
from conformance.results import Outcome
from conformance.runner import run_cases
from refimpl.wrr_scheduler import SequenceCounter
from tests.conformance.helpers import in_process_refimpl

CASE = "wrr-new-picker-starts-at-random-position"


def _run() -> tuple[Outcome, str]:
    (case,) = [c for c in load_cases() if c.id == CASE]
    assert dict(case.spec_options) == {"weighted_round_robin.start_index": "random_per_picker"}
    (result,) = run_cases([case], in_process_refimpl)[0]
    return result.outcome, result.message


class _StartsAtZero(wrr.WeightedRoundRobinPicker):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["start"] = 0  # the bug: every picker's sequence starts at the same place
        super().__init__(*args, **kwargs)


_SHARED = SequenceCounter(0)


class _SharesOneCounter(wrr.WeightedRoundRobinPicker):
    def __init__(self, targets: Sequence[wrr.WeightedTarget], *args: Any, **kwargs: Any) -> None:
        super().__init__(targets, *args, **kwargs)
        self._counter = _SHARED  # shared_counter: continues where the last picker stopped
        self.scheduler = self._build()


@pytest.mark.req("WRR-20")
def test_the_reference_starts_each_picker_at_random() -> None:
    assert _run()[0] is Outcome.PASS


@pytest.mark.req("WRR-20")
@pytest.mark.parametrize("broken", [_StartsAtZero, _SharesOneCounter], ids=["zero", "shared"])
def test_a_picker_not_starting_at_random_fails_the_case(
    monkeypatch: pytest.MonkeyPatch, broken: type[wrr.WeightedRoundRobinPicker]
) -> None:
    monkeypatch.setattr(wrr, "WeightedRoundRobinPicker", broken)
    outcome, message = _run()
    assert outcome is Outcome.FAIL
    assert "shares of the first pick were off" in message
