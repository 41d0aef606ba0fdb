"""``conformance explore`` on the policies fed by load: weighted_round_robin, least_request.

Their monitors' ``canonical_state`` hooks make times relative and rename unfinished picks;
these tests hold the keys to merging what the spec cannot tell apart and to keeping apart
what it can (docs/explore.md), and show that a burst of picks, the alphabet's input for
the rules that judge many picks (WRR-13, WRR-16, LR-10), finds planted bugs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import pytest

from conformance.adapters.inprocess import refimpl_transport
from conformance.cases import case_from_json
from conformance.explore import (
    BURST,
    LOAD_REPORTS,
    Bounds,
    Target,
    burst_of,
    explore,
    load_result,
    render,
    replay,
    resolver_updates,
    time_steps,
    wrr_burst_picks,
    wrr_horizon,
    wrr_other_config,
)
from conformance.planted import broken_transport
from conformance.runner import AdapterSession
from spec.types import Duration
from tests.conformance.helpers import fails_only_on

A1, A2 = "10.0.0.1:80", "10.0.0.2:80"
OOB = json.dumps({"enableOobLoadReport": True})
WRR = Bounds("weighted_round_robin", 2, 9, config=OOB)
LR = Bounds("least_request_experimental", 2, 7)
LIGHT, FAILING = LOAD_REPORTS
Path_ = list[dict[str, Any]]


def update(config: Any) -> dict[str, Any]:
    return {"type": "resolver_update", "endpoints": [[A1], [A2]], "config": config}


def move(addr: str, state: str) -> dict[str, Any]:
    return {"type": "subchannel_state", "subchannel": addr, "state": state}


CONNECT_BOTH = [move(a, s) for a in (A1, A2) for s in ("CONNECTING", "READY")]


def oob(addr: str, report: dict[str, Any]) -> dict[str, Any]:
    return {"type": "oob_load_report", "subchannel": addr, "report": report}


def advance(by: str) -> dict[str, Any]:
    return {"type": "advance_time", "by": by}


def keys(bounds: Bounds, *paths: Path_, bug: str | None = None) -> list[bytes]:
    """Each path's state key (every path must be clean)."""
    target = Target(planted=bug)
    session = AdapterSession(target.connect, 5.0)
    try:
        visits = [replay(session, bounds, path, cover=False) for path in paths]
    finally:
        session.close()
    assert [v.failure for v in visits] == [None] * len(paths)
    return [v.key for v in visits]


WRR_READY = [update({"enableOobLoadReport": True}), *CONNECT_BOTH]


@pytest.mark.req("CONF-10", "WRR-8", "WRR-9")
def test_wrr_key_keeps_times_relative_to_now() -> None:
    reported = [*WRR_READY, oob(A1, LIGHT), oob(A2, FAILING)]
    later, same, earlier, aged = keys(
        WRR,
        [advance("5s"), *reported],  # the same state, 5 s later: absolute time is unseen
        reported,
        [*WRR_READY, oob(A1, LIGHT), advance("1s"), oob(A2, FAILING)],
        [*reported, advance("1s")],
    )
    assert later == same
    # a1's first report is 1 s older than a2's: its blackout ends first (WRR-8), a
    # difference the picks after 9 s more can show.
    assert earlier != same
    assert aged != same  # both weights 1 s older, and the scheduler rebuilt (WRR-12)


@pytest.mark.req("CONF-10", "WRR-8", "WRR-9")
def test_wrr_key_merges_ages_past_every_period_the_alphabet_can_set() -> None:
    """Ages at or beyond the longest blackout or expiration of the alphabet's configs read
    alike from then on (wrr_horizon); below it they are exact."""
    assert wrr_horizon(WRR) == Duration.of(seconds=180)  # A58's default expiration
    reported = [*WRR_READY, oob(A1, LIGHT), oob(A2, FAILING)]
    again = [oob(A1, LIGHT), oob(A2, FAILING)]
    expired, long_expired, not_yet = keys(
        WRR,
        [*reported, advance("181s")],
        [*reported, advance("181s"), advance("11s")],
        [*reported, advance("179s")],
    )
    assert expired == long_expired
    assert not_yet != expired  # 1 s before WRR-9's expiry: the weights still count
    kept = [*reported, advance("179s"), *again]  # reported again before the expiry
    run_190, run_180, run_179 = keys(  # each run's first report that long ago
        WRR, [*kept, advance("11s"), *again], [*kept, advance("1s"), *again], kept
    )
    assert run_190 == run_180
    assert run_179 != run_180
    # Past the blackout but not the horizon: kept apart, though WRR-8 reads them alike,
    # for an implementation that counts the expiry from the first report.
    run_11, run_12 = keys(
        WRR,
        [*reported, advance("11s"), *again],
        [*reported, advance("1s"), advance("11s"), *again],
    )
    assert run_11 != run_12
    # Under a config whose expiry is longer, 181 s is not past it: kept apart.
    longer = Bounds(
        "weighted_round_robin",
        2,
        9,
        config=json.dumps({"enableOobLoadReport": True, "weightExpirationPeriod": "300s"}),
    )
    ready = [update(json.loads(longer.config or "")), *CONNECT_BOTH, *again]
    apart = keys(longer, [*ready, advance("181s")], [*ready, advance("181s"), advance("11s")])
    assert len(set(apart)) == 2


@pytest.mark.req("CONF-10", "WRR-1", "WRR-9")
def test_wrr_key_merges_what_the_spec_forgets() -> None:
    """Two paths whose difference the spec forgets have one key, so explore follows the
    shorter only: why wrr-config-update-skips-kept-endpoints and wrr-expiry-keeps-blackout-run
    are out of its reach (docs/explore.md, "Not found with the spec's key").  With the
    reference's own state in the key, each keeps its pair apart (test_refimpl_state.py)."""
    other = wrr_other_config({"enableOobLoadReport": True})  # errorUtilizationPenalty 0
    # A new config applies to every endpoint (WRR-1, WRR-5): the penalty they were added
    # under is forgotten once no report has been weighed with it.
    readded, direct = keys(WRR, [update(other), *CONNECT_BOTH, WRR_READY[0]], WRR_READY)
    assert readded == direct
    # An expired weight ends its run (WRR-9): reported again, it is a fresh report.
    reported = [*WRR_READY, oob(A1, LIGHT), oob(A2, FAILING)]
    renewed, fresh = keys(
        WRR, [*reported, advance("181s"), oob(A1, LIGHT), oob(A2, FAILING)], reported
    )
    assert renewed == fresh


@pytest.mark.req("CONF-10", "WRR-5", "WRR-7")
def test_wrr_key_tells_weights_and_configs_apart() -> None:
    light, failing, swapped = keys(
        WRR,
        [*WRR_READY, oob(A1, LIGHT)],
        [*WRR_READY, oob(A1, FAILING)],  # weight 90.9, not 1000 (WRR-5)
        [*WRR_READY, oob(A2, LIGHT)],  # the other endpoint has the weight
    )
    assert len({light, failing, swapped}) == 3
    per_call = Bounds("weighted_round_robin", 2, 9)  # out-of-band reports off: ignored (WRR-7)
    ignored, none = keys(
        per_call,
        [update({}), *CONNECT_BOTH, oob(A1, LIGHT)],
        [update({}), *CONNECT_BOTH],
    )
    assert ignored == none
    assert none != keys(WRR, WRR_READY)[0]  # the config in force is part of the state


@pytest.mark.req("CONF-10", "WRR-6")
def test_wrr_key_renames_unfinished_picks() -> None:
    per_call = Bounds("weighted_round_robin", 2, 9)
    ready = [update({}), *CONNECT_BOTH]
    first, renumbered, finished = keys(
        per_call,
        [*ready, {"type": "pick", "pick_id": 6}],
        [*ready, {"type": "pick", "pick_id": 60}],
        [*ready, {"type": "pick", "pick_id": 6}, {"type": "done", "pick_id": 6}],
    )
    assert first == renumbered
    assert finished != first  # a Done with a report would still feed this pick's endpoint


LR_READY = [update({"choiceCount": 2}), *CONNECT_BOTH]
PICK = {"type": "pick", "pick_id": 6}


@pytest.mark.req("CONF-10", "LR-8", "LR-10")
def test_lr_key_keeps_counts_and_renames_picks() -> None:
    outstanding, renumbered, finished, failed = keys(
        LR,
        [*LR_READY, PICK],
        [*LR_READY, {"type": "pick", "pick_id": 61}],
        [*LR_READY, PICK, {"type": "done", "pick_id": 6}],
        [*LR_READY, PICK, {"type": "done", "pick_id": 6, "error": {"code": "UNAVAILABLE"}}],
    )
    assert outstanding == renumbered
    # One RPC outstanding on an endpoint, or none: LR-10 expects other shares next.
    assert outstanding != finished
    # LR-8: a failed call lowers the count as a successful one does; the spec state is
    # one, and only history in the key (Bounds.history) keeps the two paths apart.
    assert failed == finished
    with_history = Bounds("least_request_experimental", 2, 7, history=1)
    assert (
        len(
            set(
                keys(
                    with_history,
                    [*LR_READY, PICK, {"type": "done", "pick_id": 6}],
                    [
                        *LR_READY,
                        PICK,
                        {"type": "done", "pick_id": 6, "error": {"code": "UNAVAILABLE"}},
                    ],
                )
            )
        )
        == 2
    )


@pytest.mark.req("CONF-10", "WRR-7", "WRR-8", "WRR-9", "WRR-12")
def test_wrr_alphabet_sends_reports_time_and_a_burst() -> None:
    # update period; blackout + it; expiry - it, expiry + it
    assert time_steps(WRR) == ("1s", "11s", "179s", "181s")
    session = AdapterSession(refimpl_transport, 5.0)
    try:
        one_ready = replay(session, WRR, WRR_READY[:3], cover=False).next_inputs
        both_ready = replay(session, WRR, WRR_READY, cover=False).next_inputs
    finally:
        session.close()
    reports = [i for i in both_ready if i["type"] == "oob_load_report"]
    assert {(i["subchannel"], json.dumps(i["report"])) for i in reports} == {
        (a, json.dumps(r)) for a in (A1, A2) for r in LOAD_REPORTS
    }
    # A burst only where WRR-13/WRR-16 can judge it: READY over two READY endpoints.
    assert [i["type"] for i in both_ready].count(BURST) == 1
    assert [i["type"] for i in one_ready].count(BURST) == 0
    assert {i["by"] for i in both_ready if i["type"] == "advance_time"} == set(time_steps(WRR))


@pytest.mark.req("CONF-10", "LR-7", "LR-10")
def test_explore_finds_a_least_request_bug_with_a_burst(tmp_path: Path) -> None:
    bug = "lr-ignores-outstanding-counts"
    result = explore(LR, Target(planted=bug), cover=False)
    found = result.counterexample
    assert found is not None
    # update, two connections, a pick left outstanding, then 1,000 picks each finished:
    # the busier endpoint got about half of them, where LR-10 says a quarter.
    assert len(found.path) == 7
    assert found.path[-1]["type"] == BURST
    assert found.inputs == 6 + 2000
    assert "LR-10" in found.requirements
    case = case_from_json(json.loads(found.write(tmp_path).read_text()), "explore")
    fails_only_on(case, lambda: broken_transport(bug))


@pytest.mark.req("CONF-10", "WRR-8", "WRR-13")
def test_explore_finds_a_weighted_round_robin_bug_with_a_burst(tmp_path: Path) -> None:
    # From both endpoints READY (out-of-band reports on) and a1's report, to keep the
    # test short; the whole search finds it at depth 9 (docs/explore.md).
    bug = "wrr-ignores-blackout"
    bounds = Bounds("weighted_round_robin", 2, 3, config=OOB)
    prefix = [*WRR_READY, oob(A1, LIGHT)]
    result = explore(bounds, Target(planted=bug), cover=False, prefix=prefix)
    found = result.counterexample
    assert found is not None
    # a2's report, the update to penalty 0 (a new picker at once, inside the 10 s
    # blackout; the reports kept the weights they were given, WRR-5), the burst: the
    # reports already steer its picks, where WRR-8 says they are round robin still.  The
    # update comes before time in the alphabet; 1 s (a rebuild) would show it too.
    assert found.path[len(prefix) :] == (
        oob(A2, FAILING),
        update({"enableOobLoadReport": True, "errorUtilizationPenalty": 0}),
        {"type": BURST, "pick_id": len(prefix) + 3, "picks": 61, "done": False},
    )
    assert found.inputs == len(prefix) + 2 + 61
    assert "WRR-13" in found.requirements
    case = case_from_json(json.loads(found.write(tmp_path).read_text()), "explore")
    fails_only_on(case, lambda: broken_transport(bug))


@pytest.mark.req("CONF-10", "LR-9")
def test_lr_key_tells_a_reconnected_busy_endpoint_from_one_that_stayed() -> None:
    # The pick goes to one of the two endpoints.  When that one reconnects its count is 0
    # again (LR-9) while the pick is unfinished: another state.  When the other one (count
    # 0) reconnects, nothing the spec sees has changed: the same state.
    def reconnect(addr: str) -> Path_:
        return [*LR_READY, PICK, *(move(addr, s) for s in ("IDLE", "CONNECTING", "READY"))]

    stayed, first, second = keys(LR, [*LR_READY, PICK], reconnect(A1), reconnect(A2))
    assert sorted([first == stayed, second == stayed]) == [False, True]


@pytest.mark.req("CONF-10", "WRR-3", "LR-1", "LR-2")
@pytest.mark.parametrize(
    ("bug", "bounds", "requirement"),
    [
        # WRR-3: enableOobLoadReport "yes" is not a boolean; the bug takes it as true.
        ("wrr-lenient-oob-flag", WRR, "WRR-3"),
        # LR-1: a null choiceCount is the default; the bug rejects the config.
        ("lr-null-choice-count-rejected", LR, "LR-1"),
        # LR-2: a choiceCount below 2 is rejected; the bug raises it to 2.
        ("lr-choice-count-below-two-raised", LR, "LR-2"),
    ],
)
def test_the_alphabet_sends_configs_a_parser_can_misread(
    bug: str, bounds: Bounds, requirement: str
) -> None:
    shallow = Bounds(bounds.policy, bounds.endpoints, 1, config=bounds.config)
    found = explore(shallow, Target(planted=bug), cover=False).counterexample
    assert found is not None
    assert [i["type"] for i in found.path] == ["resolver_update"]
    assert requirement in found.requirements
    assert explore(shallow, Target(), cover=False).counterexample is None


@pytest.mark.req("CONF-10", "WRR-5", "WRR-13")
def test_explore_finds_a_load_report_read_the_wrong_way_round(tmp_path: Path) -> None:
    # The light backend's report also carries a CPU utilization of 0.9, which WRR-5 ignores
    # when the application utilization is set.  From both endpoints READY and both reports,
    # to keep the test short.
    bug = "wrr-cpu-utilization-first"
    assert LIGHT["application_utilization"] == 0.1
    assert LIGHT["cpu_utilization"] == 0.9
    bounds = Bounds("weighted_round_robin", 2, 2, config=OOB)
    prefix = [*WRR_READY, oob(A1, LIGHT), oob(A2, FAILING)]
    found = explore(bounds, Target(planted=bug), cover=False, prefix=prefix).counterexample
    assert found is not None
    # Past the blackout the spec's weights are 11 to 1 (1000 and 90.9); the bug's about
    # equal (111 from the CPU utilization, and 90.9), so the picks stray from the schedule.
    assert found.path[len(prefix) :] == (
        advance("11s"),
        {"type": BURST, "pick_id": len(prefix) + 2, "picks": 61, "done": False},
    )
    assert "WRR-13" in found.requirements or "WRR-16" in found.requirements
    case = case_from_json(json.loads(found.write(tmp_path).read_text()), "explore")
    fails_only_on(case, lambda: broken_transport(bug))


@pytest.mark.req("CONF-10", "WRR-1", "WRR-8", "WRR-9", "WRR-12")
def test_wrr_time_steps_follow_the_configs_periods() -> None:
    # gRFC A58's periods, each as the config sets it: the update period (2 s), the blackout
    # plus it (7 s), the expiry minus and plus it (58 s, 62 s).
    periods = {
        "weightUpdatePeriod": "2s",
        "blackoutPeriod": "5s",
        "weightExpirationPeriod": "60s",
    }
    assert time_steps(Bounds("weighted_round_robin", 2, 1, config=json.dumps(periods))) == (
        "2s",
        "7s",
        "58s",
        "62s",
    )
    # An expiry no longer than the update period has no rebuild before it: left out.
    short = json.dumps({"weightExpirationPeriod": "1s"})
    assert time_steps(Bounds("weighted_round_robin", 2, 1, config=short)) == ("1s", "2s", "11s")


@pytest.mark.req("CONF-10", "WRR-13", "WRR-16")
def test_wrr_burst_is_long_enough_to_show_a_starved_light_endpoint() -> None:
    # The reports' weights are 1000 and 90.9 (shares 11/12 and 1/12).  WRR-16 tolerates 4
    # picks plus the rounding term over two endpoints: the burst is the shortest whose due
    # picks for the light endpoint exceed that by one pick, so a scheduler that serves it
    # at most once (wrr-penalty-over-utilization: weights 200 to 1) leaves the tolerance.
    picks = wrr_burst_picks({"enableOobLoadReport": True})
    assert picks == 61

    def margin(w: int) -> float:
        return w / 12 - (4 + w * 3 / 65534)

    assert margin(picks) >= 1 > margin(picks - 1)
    assert burst_of(WRR) == (61, False)  # picks each left unfinished (no Done)
    # The other valid config the alphabet sends has penalty 0 (equal weights): the
    # explored one's 1/12 still decides, whichever of the two is explored.
    assert wrr_burst_picks({"errorUtilizationPenalty": 0}) == 61


@pytest.mark.req("CONF-10", "WRR-1", "WRR-5")
def test_wrr_alphabet_sends_a_second_valid_penalty() -> None:
    def configs(config: dict[str, Any]) -> list[Any]:
        return [u["config"] for u in resolver_updates("weighted_round_robin", 2, config)]

    explored = {"enableOobLoadReport": True}
    sent = configs(explored)
    # Every list with the explored config, one invalid flag (WRR-3), and every endpoint
    # with the error penalty changed (0: the failing report then weighs as the light one).
    assert sent.count(explored) == len(sent) - 2
    assert {"enableOobLoadReport": "yes"} in sent
    assert {"enableOobLoadReport": True, "errorUtilizationPenalty": 0} in sent
    # Exploring with penalty 0, the other is the default, 1.
    assert {"errorUtilizationPenalty": 1} in configs({"errorUtilizationPenalty": 0})


@pytest.mark.req("CONF-10", "WRR-5", "WRR-9", "WRR-16")
@pytest.mark.parametrize(
    ("bug", "prefix", "tail"),
    [
        # WRR-5: the penalty read as eps / utilization gives the failing report 0.1, which
        # the caps raise to 5: weights 200 to 1 where the spec says 11 to 1.
        (
            "wrr-penalty-over-utilization",
            [*WRR_READY, oob(A1, LIGHT), oob(A2, FAILING)],
            [advance("11s")],
        ),
        # WRR-9: a1 reported at 0 s and 1 s, a2 at 1 s; at 180 s the last rebuild before
        # the 1 s reports expire keeps both weights, where the bug expired a1's at 180 s
        # (counted from its first report).
        (
            "wrr-expiry-from-first-report",
            [*WRR_READY, oob(A1, LIGHT), advance("1s"), oob(A1, LIGHT), oob(A2, FAILING)],
            [advance("179s")],
        ),
        # WRR-5, WRR-1: the update to penalty 1 applies to the kept endpoints too; the bug
        # keeps penalty 0 for them, so the failing report weighs 1000, not 90.9.
        (
            "wrr-config-update-skips-kept-endpoints",
            [
                update({"enableOobLoadReport": True, "errorUtilizationPenalty": 0}),
                *CONNECT_BOTH,
                update({"enableOobLoadReport": True}),
                oob(A1, LIGHT),
                oob(A2, FAILING),
            ],
            [advance("11s")],
        ),
        # WRR-9: reported again after both expired, the weights are in a new blackout; the
        # bug kept the old run, so it serves them 11 to 1 where the spec falls back to
        # round robin (WRR-13).  A search by the spec's key cannot reach this (the prefix's
        # state has the first two reports' key: test_wrr_key_merges_what_the_spec_forgets);
        # with the reference's state in the key, the whole search finds it at depth 12.
        (
            "wrr-expiry-keeps-blackout-run",
            [
                *WRR_READY,
                oob(A1, LIGHT),
                oob(A2, FAILING),
                advance("181s"),
                oob(A1, LIGHT),
                oob(A2, FAILING),
            ],
            # The update to the other penalty builds a new picker at once: a rebuild.
            [update({"enableOobLoadReport": True, "errorUtilizationPenalty": 0})],
        ),
    ],
)
def test_explore_finds_weight_bugs_with_the_new_step_penalty_and_burst(
    bug: str, prefix: Path_, tail: Path_, tmp_path: Path
) -> None:
    # From the prefix, to keep the test short (docs/explore.md gives the whole search).
    bounds = Bounds("weighted_round_robin", 2, 2, config=OOB)
    found = explore(bounds, Target(planted=bug), cover=False, prefix=prefix).counterexample
    assert found is not None
    burst = {"type": BURST, "pick_id": len(prefix) + 2, "picks": 61, "done": False}
    assert list(found.path[len(prefix) :]) == [*tail, burst]
    assert {"WRR-13", "WRR-16"} & set(found.requirements)
    case = case_from_json(json.loads(found.write(tmp_path).read_text()), "explore")
    fails_only_on(case, lambda: broken_transport(bug))


@pytest.mark.req("CONF-10", "LR-3", "LR-10")
def test_burst_picks_let_least_request_see_an_unclamped_choice_count(tmp_path: Path) -> None:
    """lr-choice-count-not-clamped (LR-3: 20 choices where the spec clamps to 10) is beyond
    the default burst: over three endpoints, two holding a call each, the idle one is
    missed with probability (2/3)^10 = 0.017 under the clamp and (2/3)^20 = 0.0003 without
    it, which LR-10's tolerance cannot tell apart over 1,000 picks and can over 6,000
    (docs/explore.md, "least_request's config set")."""
    a3 = "10.0.0.3:80"
    prefix = [
        {"type": "resolver_update", "endpoints": [[A1], [A2], [a3]], "config": {"choiceCount": 20}},
        *[move(a, s) for a in (A1, A2, a3) for s in ("CONNECTING", "READY")],
        {"type": "pick", "pick_id": 8},
        {"type": "pick", "pick_id": 9},
    ]
    bug = "lr-choice-count-not-clamped"
    usual = Bounds("least_request_experimental", 3, 1)
    assert burst_of(usual) == (1000, True)
    assert explore(usual, Target(planted=bug), cover=False, prefix=prefix).counterexample is None
    bounds = attrs.evolve(usual, burst_picks=6000)
    assert burst_of(bounds) == (6000, True)
    found = explore(bounds, Target(planted=bug), cover=False, prefix=prefix).counterexample
    assert found is not None
    assert found.path[-1] == {"type": BURST, "pick_id": 10, "picks": 6000, "done": True}
    assert "LR-10" in found.requirements
    case = case_from_json(json.loads(found.write(tmp_path).read_text()), "explore")
    fails_only_on(case, lambda: broken_transport(bug))


@pytest.mark.req("CONF-10")
def test_burst_picks_are_part_of_the_claim_a_result_states(tmp_path: Path) -> None:
    """A result says its burst size when one was set, and is read back by --merge; one
    written without it (before the option existed) reads as before."""
    assert burst_of(attrs.evolve(WRR, burst_picks=20)) == (20, False)  # no Dones, as usual
    assert burst_of(Bounds("pick_first", 2, 1, burst_picks=20)) is None  # no burst to size
    for picks in (None, 50):
        result = explore(attrs.evolve(LR, depth=0, burst_picks=picks), Target(), cover=False)
        data = result.to_json()
        assert ("burst_picks" in data["bounds"]) is (picks is not None)
        assert ("bursts of 50 picks" in render(data)) is (picks is not None)
        path = tmp_path / f"result-{picks}.json"
        path.write_text(json.dumps(data))
        assert load_result(path)["bounds"].get("burst_picks") == picks
