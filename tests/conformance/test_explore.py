"""``conformance explore``: a small exhaustive search, its dedup, its shards and its refusals.

Depths here are small (seconds); the README's claims come from ``make explore``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import attrs
import pytest

from conformance import protocol, wire
from conformance.adapters.inprocess import refimpl_transport
from conformance.adapters.refimpl import REFIMPL_SPEC_OPTIONS, RefimplAdapter
from conformance.cases import case_from_json, load_cases
from conformance.cli import main
from conformance.explore import (
    Bounds,
    Target,
    explore,
    judging_options,
    merge,
    render,
    replay,
    resolver_updates,
    state_key,
)
from conformance.planted import broken_transport
from conformance.results import Outcome
from conformance.runner import AdapterSession, CaseRun, run_cases
from conformance.transport import InProcessTransport
from tests.conformance.helpers import ROOT, fails_only_on, one_line_error, schema_errors

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
    fails_only_on(case, lambda: broken_transport("pf-no-family-interleaving"))


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
    (case,) = load_cases(tmp_path / "explore")  # DIR/explore/<id>.json, as the output says
    assert case.id.startswith("explore-pick-first-")
    assert case.area == "explore"
    results, _ = run_cases([case], lambda: broken_transport("pf-no-family-interleaving"))
    assert [r.outcome for r in results] == [Outcome.FAIL]


@pytest.mark.req("CONF-11")
def test_without_out_the_case_goes_to_a_new_temporary_folder(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """As fuzz does (main): a found case never lands in the corpus by itself."""
    adapter = f"{sys.executable} -m conformance.planted pf-no-family-interleaving"
    argv = ["explore", "--policy", "pick_first", "--adapter", adapter, "--depth", "2"]
    assert main([*argv, "--no-coverage"]) == 1
    out = capsys.readouterr().out
    written = Path(out.split("explore: wrote ")[1].split()[0])
    assert written.parent.name.startswith("conformance-explore-")
    assert f"run --cases {written.parent} --adapter" in out
    (case,) = load_cases(written.parent)
    assert case.id == written.stem
    assert not (ROOT / "conformance" / "cases" / "explore").exists()


class _DeclaresReconnects(RefimplAdapter):
    """The reference, declaring pick_first.selected_address_removed=reconnects (grpc-go's
    choice) although it goes IDLE (the spec text; it declares goes_idle, and can be set to
    reconnect per case, which this handshake no longer offers): a wrong handshake."""

    def capabilities(self) -> protocol.Capabilities:
        caps = super().capabilities()
        options = dict(caps.spec_options) | {"pick_first.selected_address_removed": "reconnects"}
        return attrs.evolve(
            caps, spec_options=tuple(sorted(options.items())), configurable_options=()
        )


# The update that drops the connected address (PF-10), along the alphabet of 2 endpoints.
_DROP_SELECTED: list[wire.JsonObject] = [
    resolver_updates("pick_first", 2)[0],  # both addresses: connect the first
    {"type": "subchannel_state", "subchannel": "10.0.0.1:80", "state": "CONNECTING"},
    {"type": "subchannel_state", "subchannel": "10.0.0.1:80", "state": "READY"},
    resolver_updates("pick_first", 2)[3],  # the second address alone
]


@pytest.mark.req("CONF-10", "PF-10")
def test_the_monitors_judge_with_the_spec_options_the_adapter_declares() -> None:
    bounds = Bounds("pick_first", 2, len(_DROP_SELECTED))
    assert _DROP_SELECTED[-1]["endpoints"] == [["10.0.0.2:80"]]
    declared_goes_idle = AdapterSession(refimpl_transport, 5.0)
    declared_reconnects = AdapterSession(
        lambda: InProcessTransport(_DeclaresReconnects().handle), 5.0
    )
    try:
        clean = replay(declared_goes_idle, bounds, _DROP_SELECTED, cover=False)
        judged_otherwise = replay(declared_reconnects, bounds, _DROP_SELECTED, cover=False)
    finally:
        declared_goes_idle.close()
        declared_reconnects.close()
    assert clean.failure is None
    assert judged_otherwise.failure is not None
    assert "PF-10" in judged_otherwise.requirements


@pytest.mark.req("CONF-4", "CONF-10")
def test_results_and_counterexamples_name_the_spec_options_they_were_judged_with() -> None:
    options = dict(judging_options("pick_first", dict(REFIMPL_SPEC_OPTIONS)))
    assert options["pick_first.family_interleaving"] == "three_families"  # declared
    assert "round_robin.idle_child" not in options  # another policy's monitor takes it
    assert dict(judging_options("pick_first", {}))["pick_first.family_interleaving"] == (
        "two_families"  # the registry's default
    )
    clean = explore(Bounds("pick_first", 2, 1), Target(), cover=False)
    assert dict(clean.spec_options) == options
    assert "pick_first.family_interleaving=three_families" in render(clean.to_json())
    bug = explore(Bounds("pick_first", 3, 2), Target(planted="pf-no-family-interleaving"))
    assert bug.counterexample is not None
    case = case_from_json(bug.counterexample.to_case_json(), "explore")
    assert dict(case.spec_options) == options
    # An adapter that declares other values skips the case instead of misjudging it.
    other = attrs.evolve(
        RefimplAdapter().capabilities(),
        spec_options=(("pick_first.family_interleaving", "two_families"),),
    )
    assert any("family_interleaving" in m for m in other.missing_for(case))


_PRINT_KEYS = """
from conformance.explore import Bounds, Target, explore
for hidden in (False, True):  # and with the reference's own state (Bounds.implementation_state)
    bounds = Bounds("pick_first", 2, 3, implementation_state=hidden)
    result = explore(bounds, Target(), keep_keys=True, cover=False)
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


_PF = ["explore", "--policy", "pick_first"]
_TWO_FAMILIES = "pick_first.family_interleaving=two_families"


@pytest.mark.req("CONF-10")
@pytest.mark.parametrize(
    ("argv", "said"),
    [
        ([*_PF, "--in-process", "--depth", "-1"], "explore: argument --depth"),
        ([*_PF, "--in-process", "--depth", "two"], "explore: argument --depth"),
        ([*_PF, "--in-process", "--depth", "2", "--endpoints", "0"], "argument --endpoints"),
        ([*_PF, "--in-process", "--depth", "2", "--jobs", "0"], "argument --jobs"),
        ([*_PF, "--in-process", "--depth", "2", "--shard", "2/2"], "argument --shard"),
        ([*_PF, "--in-process", "--depth", "2", "--shard", "half"], "argument --shard"),
        ([*_PF, "--in-process", "--depth", "2", "--timeout", "0"], "argument --timeout"),
        ([*_PF, "--in-process", "--depth", "2", "--bogus"], "unrecognized arguments"),
        ([*_PF, "--adapter", "", "--depth", "2"], "the adapter command is empty"),
        ([*_PF, "--adapter", '"unclosed', "--depth", "2"], "cannot split"),
        (["explore", "--in-process", "--depth", "2"], "--policy and --depth are required"),
        ([*_PF, "--in-process"], "--policy and --depth are required"),
        ([*_PF, "--depth", "2"], "exactly one of --in-process and --adapter"),
        ([*_PF, "--depth", "2", "--in-process", "--adapter", "x"], "exactly one of"),
        ([*_PF, "--depth", "2", "--adapter", "x", "--load", "m"], "--load MODULE goes with"),
        (
            [*_PF, "--depth", "2", "--adapter", "x", "--implementation-state"],
            "--implementation-state goes with --in-process",
        ),
        ([*_PF, "--in-process", "--depth", "1", "--burst-picks", "0"], "argument --burst-picks"),
        (
            [*_PF, "--in-process", "--depth", "1", "--burst-picks", "10"],
            "--burst-picks: pick_first's alphabet has no burst",
        ),
        (["explore", "--policy", "pick_frist", "--in-process", "--depth", "1"], "offers:"),
        (["explore", "--merge", "/nonexistent.json"], "cannot read it"),
        ([*_PF, "--merge", "/nonexistent.json"], "takes result files only"),
        ([*_PF, "--in-process", "--depth", "1", "--spec-option", "x"], "expected KEY=VALUE"),
        (
            [*_PF, "--in-process", "--depth", "1", "--spec-option", "pick_first.happy_eyeballs=no"],
            "'no' is not one of",
        ),
        (  # the reference interleaves three families and cannot be set to two
            [*_PF, "--in-process", "--depth", "1", "--spec-option", _TWO_FAMILIES],
            "the adapter lacks spec option pick_first.family_interleaving='two_families'",
        ),
    ],
)
def test_bad_input_is_one_typed_line_and_exit_2(
    capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    assert main(argv) == 2
    one_line_error(capsys, said)


@pytest.mark.req("CONF-10")
@pytest.mark.parametrize(
    ("content", "said"),
    [
        ("not json", "cannot read it"),
        ("[]", "not a JSON object"),
        ("{}", "no 'bounds'"),
        ('{"bounds": {}}', "no 'implementation'"),
    ],
)
def test_a_merge_file_that_is_not_a_result_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, said: str
) -> None:
    path = tmp_path / "result.json"
    path.write_text(content)
    assert main(["explore", "--merge", str(path)]) == 2
    one_line_error(capsys, str(path), said)


@pytest.mark.req("CONF-10")
def test_a_merge_file_with_a_broken_field_is_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = explore(Bounds("round_robin", 1, 1), Target(), cover=False).to_json()
    for key, bad in (("shard", [1, 1]), ("bounds", {"policy": "x"}), ("states", "many")):
        path = tmp_path / f"bad-{key}.json"
        path.write_text(json.dumps(result | {key: bad}))
        assert main(["explore", "--merge", str(path)]) == 2
        one_line_error(capsys, str(path), repr(key))


@pytest.mark.req("CONF-10")
def test_an_out_path_that_is_a_file_is_refused_before_the_search(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    taken = tmp_path / "a-file"
    taken.write_text("")
    argv = [*_PF, "--in-process", "--depth", "9", "--out", str(taken)]
    assert main(argv) == 2  # depth 9 would take minutes: refused first
    one_line_error(capsys, "explore --out", str(taken))


_RECONNECTS = (("pick_first.selected_address_removed", "reconnects"),)


@pytest.mark.req("CONF-4", "CONF-10", "PF-10")
def test_a_configurable_option_is_explored_with_the_value_asked_for() -> None:
    """The reference goes IDLE when an update drops its READY address (declared goes_idle)
    and reconnects when a case asks (configurable): pf-picks-shut-down-subchannel breaks
    only the reconnect, so explore finds it only with --spec-option asking for it."""
    bug = Target(planted="pf-picks-shut-down-subchannel")
    as_declared = explore(Bounds("pick_first", 2, 4), bug, cover=False)
    asked = explore(Bounds("pick_first", 2, 4, spec_options=_RECONNECTS), bug, cover=False)
    assert as_declared.counterexample is None
    assert dict(as_declared.spec_options)["pick_first.selected_address_removed"] == "goes_idle"
    assert asked.counterexample is not None
    assert "PF-10" in asked.counterexample.requirements
    case = case_from_json(asked.counterexample.to_case_json(), "explore")
    assert dict(case.spec_options)["pick_first.selected_address_removed"] == "reconnects"
    on_bug, _ = run_cases([case], lambda: broken_transport("pf-picks-shut-down-subchannel"))
    on_reference, _ = run_cases([case], refimpl_transport)
    assert [r.outcome for r in on_bug] == [Outcome.FAIL]
    assert [r.outcome for r in on_reference] == [Outcome.PASS]


@pytest.mark.req("CONF-11")
def test_a_counterexample_with_health_checking_loads_as_a_case() -> None:
    """The written case lists the capabilities its steps need (the loader refuses it else)."""
    from conformance.explore import Counterexample

    found = Counterexample(
        "round_robin",
        True,
        ({"type": "resolver_update", "endpoints": [["10.0.0.1:80"]]},),
        "RR-10 at step 1",
        ("RR-10",),
    )
    case = case_from_json(found.to_case_json(), "explore")
    assert case.channel.health_checking
    assert "health_listener" in {c.value for c in case.capabilities}


_EVERY_2 = [["10.0.0.1:80"], ["10.0.0.2:80"]]
_A1_READY: list[wire.JsonObject] = [
    {"type": "resolver_update", "endpoints": _EVERY_2},
    {"type": "subchannel_state", "subchannel": "10.0.0.1:80", "state": "CONNECTING"},
    {"type": "subchannel_state", "subchannel": "10.0.0.1:80", "state": "READY"},
]


@pytest.mark.req("CONF-10", "PF-1", "PF-6", "PF-12", "HEALTH-6", "HEALTH-7")
@pytest.mark.parametrize(
    ("bug", "bounds", "prefix", "last", "requirement"),
    [
        # PF-1: a null shuffleAddressList counts as absent; the bug rejects the config.
        ("pf-null-shuffle-rejected", Bounds("pick_first", 2, 1), [], "resolver_update", "PF-10"),
        # PF-6: the first address and the same host:port with a server name are two
        # addresses; the bug drops the second, so the Happy Eyeballs timer starts nothing.
        ("pf-dedup-by-host-port", Bounds("pick_first", 2, 2), [], "advance_time", "PF-12"),
        # HEALTH-6: the health check restarts (CONNECTING); the bug still reports READY.
        (
            "pf-health-connecting-as-ready",
            Bounds("round_robin", 2, 1, True),
            _A1_READY,
            "health_state",
            "HEALTH-7",
        ),
    ],
)
def test_the_alphabet_reaches_null_configs_server_names_and_restarted_health_checks(
    bug: str, bounds: Bounds, prefix: list[wire.JsonObject], last: str, requirement: str
) -> None:
    result = explore(bounds, Target(planted=bug), cover=False, prefix=prefix)
    found = result.counterexample
    assert found is not None
    assert len(found.path) == len(prefix) + bounds.depth
    assert found.path[-1]["type"] == last
    assert requirement in found.requirements
    case = case_from_json(found.to_case_json(), "explore")
    on_bug, _ = run_cases([case], lambda: broken_transport(bug))
    on_reference, _ = run_cases([case], refimpl_transport)
    assert [r.outcome for r in on_bug] == [Outcome.FAIL]
    assert [r.outcome for r in on_reference] == [Outcome.PASS]


@pytest.mark.req("CONF-10")
@pytest.mark.parametrize(
    ("argv", "said"),
    [
        (["--endpoints", "0"], "argument --endpoints: expected at least 1, got '0'"),
        (["--history", "-1"], "argument --history: expected at least 0, got '-1'"),
        (["--jobs", "0"], "argument --jobs: expected at least 1, got '0'"),
    ],
)
def test_explore_bugs_refuses_bad_bounds_in_one_line(
    capsys: pytest.CaptureFixture[str], argv: list[str], said: str
) -> None:
    """Before any measurement (an endpoint count of 0 raised an IndexError deep in it)."""
    from conformance import explore_bugs

    with pytest.raises(SystemExit) as exited:
        explore_bugs.main(argv)
    assert exited.value.code == 2
    assert said in capsys.readouterr().err
