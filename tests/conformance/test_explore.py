"""``conformance explore``: a small exhaustive search, its dedup, its shards and its refusals.

Depths here are small (seconds); the README's claims come from ``make explore``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.adapters.inprocess import refimpl_transport
from conformance.cases import case_from_json, load_cases
from conformance.cli import main
from conformance.explore import Bounds, Target, explore, merge, replay, state_key
from conformance.planted import broken_transport
from conformance.results import Outcome
from conformance.runner import AdapterSession, CaseRun, run_cases
from tests.conformance.helpers import ROOT, schema_errors

PF = Bounds("pick_first", 2, 3)


@pytest.mark.req("CONF-10")
def test_a_small_exploration_of_the_reference_is_exhaustive_and_clean() -> None:
    result = explore(PF, Target())
    assert result.counterexample is None
    assert result.depth_completed == 3
    assert sum(result.level_sizes) == result.states
    assert result.level_sizes[0] == 1
    assert all(n > 0 for n in result.level_sizes)
    # Every transition is one replayed case; a graph search sends fewer than a tree would.
    assert result.transitions > result.states
    exercised = {req for req, _ in result.exercised}
    assert {"PF-2", "PF-11", "PF-12", "PF-22", "PF-23", "LB-4"} <= exercised


@pytest.mark.req("CONF-10")
def test_exploration_is_deterministic() -> None:
    first = explore(PF, Target(), keep_keys=True, cover=False)
    second = explore(PF, Target(), keep_keys=True, cover=False)
    assert first.keys == second.keys
    assert len(first.keys) == first.states
    assert first.level_sizes == second.level_sizes


@pytest.mark.req("CONF-10")
def test_worker_processes_give_the_same_result() -> None:
    one = explore(PF, Target(), keep_keys=True)
    two = explore(PF, Target(), keep_keys=True, jobs=2)
    assert two.keys == one.keys
    assert (two.transitions, two.level_sizes) == (one.transitions, one.level_sizes)
    assert two.exercised == one.exercised


@pytest.mark.req("CONF-10")
def test_the_key_renames_subchannels_so_equal_states_meet() -> None:
    # The same three endpoints, reached directly or through a shorter list first: the
    # subchannels get other spec IDs (a1 is subchannel 1 or 3), and the state is the same.
    every = [["10.0.0.1:80"], ["10.0.0.2:80"], ["[2001:db8::1]:443"]]
    direct = [{"type": "resolver_update", "endpoints": every}]
    detour = [{"type": "resolver_update", "endpoints": every[1:]}, *direct]
    bounds = Bounds("round_robin", 3, 2)
    session = AdapterSession(refimpl_transport, 5.0)
    try:
        a = replay(session, bounds, direct, cover=False)
        b = replay(session, bounds, detour, cover=False)
        c = replay(session, bounds, [direct[0], {"type": "exit_idle"}], cover=False)
    finally:
        session.close()
    assert a.failure is None
    assert b.failure is None
    assert a.key == b.key
    assert c.key == a.key  # ExitIdle while CONNECTING changes nothing the spec can see
    assert a.key != replay_key(bounds, [{"type": "resolver_update", "endpoints": every[1:]}])


def replay_key(bounds: Bounds, path: list[dict[str, object]]) -> bytes:
    session = AdapterSession(refimpl_transport, 5.0)
    try:
        return replay(session, bounds, path, cover=False).key
    finally:
        session.close()


@pytest.mark.req("CONF-5", "CONF-9", "CONF-11")
def test_a_planted_bug_gives_a_shortest_counterexample_that_run_replays(tmp_path: Path) -> None:
    bounds = Bounds("pick_first", 3, 4)
    result = explore(bounds, Target(planted="pf-no-family-interleaving"), cover=False)
    found = result.counterexample
    assert found is not None
    assert len(found.path) == 2  # the update, then the first connection attempt fails
    assert "PF-7" in found.requirements
    assert result.depth_completed == 1
    written = found.write(tmp_path)
    assert written.name == f"{found.case_id}.json"
    assert schema_errors("case", json.loads(written.read_text())) == []
    case = case_from_json(json.loads(written.read_text()), "explore", written)
    against_bug, _ = run_cases([case], lambda: broken_transport("pf-no-family-interleaving"))
    against_reference, _ = run_cases([case], refimpl_transport)
    assert [r.outcome for r in against_bug] == [Outcome.FAIL]
    assert [r.outcome for r in against_reference] == [Outcome.PASS]


@pytest.mark.req("CONF-10")
def test_shards_split_the_search_and_merge_to_the_whole() -> None:
    whole = explore(PF, Target(), keep_keys=True, cover=False)
    shards = [explore(PF, Target(), shard=(i, 3), cover=False).to_json() for i in range(3)]
    merged = merge(shards)
    assert merged["states"] == whole.states
    assert {k for s in shards for k in s["keys"]} == {k.hex() for k in whole.keys}
    with pytest.raises(Exception, match="have shards"):
        merge(shards[:2])


@pytest.mark.req("CONF-10")
def test_the_subprocess_adapter_reaches_the_same_states_as_in_process() -> None:
    adapter = f"{sys.executable} -m conformance.adapters.refimpl"
    bounds = Bounds("round_robin", 2, 2)
    through_protocol = explore(bounds, Target(adapter=adapter), keep_keys=True, cover=False)
    in_process = explore(bounds, Target(), keep_keys=True, cover=False)
    assert through_protocol.keys == in_process.keys


@pytest.mark.req("CONF-10")
def test_an_adapter_without_seedable_random_is_refused_in_one_line() -> None:
    command = f"{sys.executable} -m tests.conformance.unseeded"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "conformance",
            "explore",
            "--policy",
            "pick_first",
            "--adapter",
            command,
            "--depth",
            "2",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.count("\n") == 1
    assert "virtual time and seedable_random" in done.stderr


@pytest.mark.req("CONF-10")
def test_the_command_line_prints_the_bounded_claim(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["explore", "--policy", "round_robin", "--in-process", "--depth", "2"]) == 0
    out = capsys.readouterr().out
    assert "round_robin: 3 endpoints, depth 2" in out
    assert "no sequence of at most 2 inputs" in out
    assert "RR: " in out
    assert "judged by no monitor: RR-12" in out
    assert main(["explore", "--policy", "round_robin", "--depth", "2"]) == 2
    assert main(["explore", "--merge", "/nonexistent.json"]) == 2


@pytest.mark.req("CONF-10")
def test_state_key_ignores_pick_ids() -> None:
    """Pick IDs only number RPCs: two picks in another order reach one state."""
    bounds = Bounds("pick_first", 1, 2)
    session = AdapterSession(refimpl_transport, 5.0)
    try:
        run = CaseRun(
            case_from_json(
                {"id": "explore-x", "title": "x", "requirements": ["PF-10"], "policy": "pick_first"}
                | {"steps": [{"input": {"type": "pick", "pick_id": 7}}]},
                "explore",
            ),
            session,
        )
        run.start()
        run.feed(0, run.case.steps[0])
        key = state_key(run)
        session.end()
        other = replay(session, bounds, [{"type": "pick", "pick_id": 1}], cover=False)
    finally:
        session.close()
    assert key == other.key


@pytest.mark.req("CONF-5", "CONF-11")
def test_the_command_line_writes_a_case_that_run_replays(tmp_path: Path) -> None:
    adapter = f"{sys.executable} -m conformance.planted pf-no-family-interleaving"
    argv = ["explore", "--policy", "pick_first", "--adapter", adapter, "--depth", "3"]
    assert main([*argv, "--out", str(tmp_path)]) == 1
    assert (tmp_path / "explore-pick_first-k3-d3.json").is_file()
    (case,) = load_cases(tmp_path)  # DIR/explore/<id>.json: an area folder
    assert case.id.startswith("explore-pick-first-")
    results, _ = run_cases([case], lambda: broken_transport("pf-no-family-interleaving"))
    assert [r.outcome for r in results] == [Outcome.FAIL]


_PRINT_KEYS = """
from conformance.explore import Bounds, Target, explore
result = explore(Bounds("pick_first", 2, 3), Target(), keep_keys=True, cover=False)
print(" ".join(sorted(k.hex() for k in result.keys)))
"""


@pytest.mark.req("CONF-10")
def test_state_keys_do_not_depend_on_string_hashing() -> None:
    """Worker processes (--jobs) and shards hash strings with their own seeds: a key that
    rendered a set in iteration order (the PF-2 picker's two wordings) would differ."""
    keys = []
    for hash_seed in ("0", "1"):  # these two iterate that set in different orders
        done = subprocess.run(
            [sys.executable, "-c", _PRINT_KEYS],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "PYTHONHASHSEED": hash_seed},
            check=True,
        )
        keys.append(done.stdout.split())
    assert keys[0], "no states"
    assert keys[0] == keys[1]
