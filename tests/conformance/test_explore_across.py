"""``conformance explore``'s across probes and least_request's config set (issue 18).

An across probe is one input of the alphabet that repeats a short block 400 times and
judges one observation per repetition with conformance/across.py (RR-7's random start of
each picker, RR-12's rotation, PF-5's shuffle): the bugs that only a distribution over
many pickers or updates shows.  The reference runs with the channel's seed 0 (Bounds.seed),
so every replay draws the same numbers and these tests are deterministic; each probe's
false-alarm bound (below 1e-7) is what a fresh seed would risk.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.across import MAX_FALSE_ALARM, across_from_json
from conformance.cases import case_from_json
from conformance.explore import (
    ACROSS,
    ACROSS_REPETITIONS,
    BURST,
    Bounds,
    Target,
    addresses,
    explore,
    probe_block,
    replay,
)
from conformance.planted import broken_transport
from conformance.runner import AdapterSession
from tests.conformance.helpers import fails_only_on

ADDRS = addresses(3)
A1, A2, A3 = ADDRS
RR = Bounds("round_robin", 3, 1)
PF = Bounds("pick_first", 3, 1)
EVERY = {"type": "resolver_update", "endpoints": [[a] for a in ADDRS]}


def move(addr: str, state: str) -> dict[str, Any]:
    return {"type": "subchannel_state", "subchannel": addr, "state": state}


def ready(*addrs: str) -> list[dict[str, Any]]:
    return [EVERY, *(move(a, s) for a in addrs for s in ("CONNECTING", "READY"))]


def probes_after(bounds: Bounds, path: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The across probes the alphabet offers after ``path`` (which must be clean)."""
    session = AdapterSession(Target().connect, 5.0)
    try:
        visit = replay(session, bounds, path, cover=False)
    finally:
        session.close()
    assert visit.failure is None
    return [i for i in visit.next_inputs if i["type"] == ACROSS]


def check_case(tmp_path: Path, found: Any, bug: str) -> None:
    """The counterexample, written as a case with a repeat block, fails the bug and passes
    the reference."""
    written = json.loads(found.write(tmp_path).read_text())
    assert next(s for s in written["steps"] if "repeat" in s)["repeat"] == ACROSS_REPETITIONS
    case = case_from_json(written, "explore")
    fails_only_on(case, lambda: broken_transport(bug))


@pytest.mark.req("CONF-7")
def test_every_probe_keeps_the_false_alarm_bound() -> None:
    # Hoeffding over 400 repetitions at tolerance 0.15: 9.1e-8 for three keys.
    for raw in (
        {"type": ACROSS, "probe": "start_index", "pick_id": 1, "ready": [A1, A2, A3]},
        {"type": ACROSS, "probe": "rotation", "pick_id": 1},
        {"type": ACROSS, "probe": "repeat_order", "pick_id": 1},
        {"type": ACROSS, "probe": "shuffle", "pick_id": 1},
    ):
        block, expect = probe_block(raw, 3, None)
        across = across_from_json(expect, ("across",), ACROSS_REPETITIONS, len(block), 0)
        assert across.false_alarm_bound() < MAX_FALSE_ALARM / 10


@pytest.mark.req("RR-7", "RR-12", "PF-5")
def test_probes_are_offered_where_they_mean_something() -> None:
    assert [p["probe"] for p in probes_after(RR, [])] == ["rotation", "repeat_order"]
    assert probes_after(RR, ready(A1)) == []  # one READY child: one possible first pick
    assert [p["probe"] for p in probes_after(RR, ready(A1, A2))] == ["start_index"]
    assert [p["probe"] for p in probes_after(PF, [])] == ["shuffle"]
    # pick_first gone IDLE (its READY address removed, goes_idle) with no subchannel: it
    # would not connect on the block's updates, so the probe would observe nothing.
    removed = [*ready(A1), {"type": "resolver_update", "endpoints": [[A2], [A3]]}]
    assert probes_after(PF, removed) == []
    assert probes_after(Bounds("round_robin", 3, 1, health_checking=True), ready(A1, A2)) == []


@pytest.mark.req("RR-7", "RR-12", "PF-5")
def test_probes_do_not_flag_the_reference() -> None:
    # From the start (rotation, repeat_order, shuffle) and from two and three READY children
    # (start_index): seed 0, so each replay is the same; the bound is 9.1e-8 per probe.
    cases = [
        (RR, []),
        (PF, []),
        (RR, ready(A1, A2)),
        (RR, ready(A1, A2, A3)),
        (RR, [*ready(A1, A2, A3), move(A2, "IDLE")]),
    ]
    session = AdapterSession(Target().connect, 5.0)
    try:
        for bounds, path in cases:
            offered = probes_after(bounds, path)
            assert offered, path
            for probe in offered:  # from the start, round_robin offers two
                visit = replay(session, bounds, [*path, probe], cover=False)
                assert visit.failure is None, visit.failure
    finally:
        session.close()


@pytest.mark.req("RR-7", "CONF-7")
def test_explore_finds_a_picker_that_starts_at_its_first_child(tmp_path: Path) -> None:
    # From two READY children, to keep the test short; the whole search finds it at
    # depth 6 (docs/explore.md).  Every new picker's first pick goes to one endpoint.
    bug = "rr-picker-starts-at-first-child"
    prefix = ready(A1, A2)
    found = explore(RR, Target(planted=bug), cover=False, prefix=prefix).counterexample
    assert found is not None
    assert len(found.path) == len(prefix) + 1
    assert found.path[-1]["probe"] == "start_index"
    assert "shares of the first pick were off" in found.message
    check_case(tmp_path, found, bug)


@pytest.mark.req("PF-5", "CONF-7")
def test_explore_finds_a_pick_first_that_ignores_shuffle(tmp_path: Path) -> None:
    bug = "pf-ignores-shuffle"
    found = explore(PF, Target(planted=bug), cover=False).counterexample
    assert found is not None
    assert [i["type"] for i in found.path] == [ACROSS]
    assert found.inputs == 2 * ACROSS_REPETITIONS
    assert "10.0.0.1:80: 1.000 (expected 0.167)" in found.message
    check_case(tmp_path, found, bug)


@pytest.mark.req("LR-1", "LR-10")
def test_explore_finds_a_wrong_default_choice_count() -> None:
    # The alphabet also sends least_request's update without choiceCount; the key keeps
    # it apart from {"choiceCount": 2} (one spec state), so the burst after it finds a
    # balancer that defaults to 10 choices.
    bug = "lr-default-choice-count-ten"
    a1, a2 = addresses(2)
    prefix = [
        {"type": "resolver_update", "endpoints": [[a1], [a2]], "config": {}},
        *(move(a, s) for a in (a1, a2) for s in ("CONNECTING", "READY")),
        {"type": "pick", "pick_id": 6},
    ]
    bounds = Bounds("least_request_experimental", 2, 1)
    found = explore(bounds, Target(planted=bug), cover=False, prefix=prefix).counterexample
    assert found is not None
    assert found.path[-1]["type"] == BURST
    assert "LR-10" in found.requirements
    clean = explore(bounds, Target(), cover=False, prefix=prefix)
    assert clean.counterexample is None
    assert clean.transitions > 0
