"""explore forks an in-process run rather than replaying every path (issue 18): same results.

In-process, explore replays a state's path once and copies the run for each next
input (conformance/explore.py ``fork``, conformance/snapshot.py).  That is only an
optimisation if every result is the one replaying each path gives: the same states,
keys, transitions, coverage and counterexample, byte for byte in the result JSON.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Callable
from typing import Any

import pytest

from conformance import snapshot
from conformance.explore import Bounds, Target, explore
from conformance.runner import CaseRun

OOB = json.dumps({"enableOobLoadReport": True}, sort_keys=True)

# (bounds, target, cover): each policy, health checking, a config, and a planted bug that
# explore finds at depth 3 (docs/explore.md's table).  Coverage (exercised) is compared
# where it costs least.
BOUNDS = {
    "pick_first k3 d3": (Bounds("pick_first", 3, 3), Target(), False),
    "round_robin k3 d3 health": (
        Bounds("round_robin", 3, 3, health_checking=True),
        Target(),
        False,
    ),
    "weighted_round_robin k2 d4 oob": (
        Bounds("weighted_round_robin", 2, 4, config=OOB),
        Target(),
        True,
    ),
    "least_request k2 d4": (Bounds("least_request_experimental", 2, 4), Target(), False),
    "rr-idle-counted-as-idle k3 d3": (
        Bounds("round_robin", 3, 3),
        Target(planted="rr-idle-counted-as-idle"),
        True,
    ),
}


@pytest.mark.req("CONF-10")
@pytest.mark.parametrize("name", BOUNDS)
def test_forking_gives_what_replaying_gives(name: str) -> None:
    bounds, target, cover = BOUNDS[name]

    def run(fork: bool) -> dict[str, Any]:
        result = explore(bounds, target, cover=cover, keep_keys=True, fork_in_process=fork)
        return result.to_json(timings=False)

    replayed, forked = run(False), run(True)
    assert forked == replayed
    assert replayed["transitions"] > replayed["states"] > 10  # a search, not a stub
    if target.planted is not None:  # the planted bug is found, at depth 3, both ways
        found = replayed["counterexample"]
        assert isinstance(found, dict)
        assert len(found["steps"]) == 3
    if cover:
        assert replayed["exercised"]


@pytest.mark.req("CONF-10")
def test_a_run_that_cannot_be_copied_is_replayed(monkeypatch: pytest.MonkeyPatch) -> None:
    bounds = Bounds("weighted_round_robin", 2, 3)  # no probes: quick
    replayed = explore(bounds, Target(), keep_keys=True, fork_in_process=False)

    real = snapshot.take

    def refuse(obj: object) -> snapshot.Snapshot:
        if isinstance(obj, CaseRun):  # as if the adapter held a generator
            raise snapshot.SnapshotError("cannot copy the run")
        return real(obj)  # the monitors, for coverage

    monkeypatch.setattr(snapshot, "take", refuse)
    fallen_back = explore(bounds, Target(), keep_keys=True)
    assert fallen_back.to_json(timings=False) == replayed.to_json(timings=False)
    assert replayed.states > 10


class _Listener:
    """A balancer in miniature: a closure over itself, a lock and a counter."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self.lock = threading.Lock()
        self.ids = itertools.count(5)
        self.callback: Callable[[str], None] = lambda state: self.seen.append(state)


@pytest.mark.req("CONF-10")
def test_a_copied_closure_drives_the_copy_not_the_original() -> None:
    original = _Listener()
    original.callback("READY")
    copy = snapshot.restore(snapshot.take(original))
    copy.callback("IDLE")  # copy.deepcopy would share the lambda: the original would see it
    assert original.seen == ["READY"]
    assert copy.seen == ["READY", "IDLE"]
    assert next(copy.ids) == 5  # each its own counter
    assert next(original.ids) == 5
    with copy.lock:  # a lock of its own
        assert not original.lock.locked()


@pytest.mark.req("CONF-10")
def test_what_cannot_be_copied_is_refused_so_explore_replays() -> None:
    held = _Listener()
    with held.lock, pytest.raises(snapshot.SnapshotError, match="lock is held"):
        snapshot.take(held)
    with pytest.raises(snapshot.SnapshotError, match="cannot copy"):
        snapshot.take(x for x in range(3))  # a generator
