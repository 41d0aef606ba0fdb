"""The benchmark workloads set up what they claim, and every one runs.

No timing is asserted: each ``time_*`` function runs once at a small size, so a
change to ``refimpl`` or ``conformance`` that would break ``make bench`` fails
here instead.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bench import real_rpcs, suite
from bench import workloads as w
from conformance.cases import CASES_DIR, load_cases
from refimpl.driver import Driver
from refimpl.endpoint_sharding import EndpointShardingPicker
from spec import events as ev
from spec.connectivity import State

ROUND_ROBIN = next(p for p in w.POLICIES if p.name == "round_robin")


def _one_by_one(n: int) -> Driver:
    """The same set-up as ``ready_driver``, every report made as it happens."""
    driver = Driver("round_robin", seed=n)
    driver.step(ev.ResolverUpdate(w.endpoints(n)))
    for ident in range(1, n + 1):
        driver.step(ev.SubchannelStateChange(ident, State.CONNECTING))
        driver.step(ev.SubchannelStateChange(ident, State.READY))
    return driver


def test_one_report_per_sharding_reaches_the_state_of_the_event_by_event_path() -> None:
    n = 6
    fast, slow = w.ready_driver(ROUND_ROBIN, n), _one_by_one(n)
    assert fast.state is slow.state is State.READY
    assert isinstance(fast.picker, EndpointShardingPicker)
    assert isinstance(slow.picker, EndpointShardingPicker)
    assert {c.endpoint for c in fast.picker.child_states} == set(w.endpoints(n))
    assert [(c.endpoint, c.state.state) for c in fast.picker.child_states] == [
        (c.endpoint, c.state.state) for c in slow.picker.child_states
    ]
    picked = {fast.picker.pick(w.PICK_INFO) for _ in range(n)}
    assert len(picked) == n  # one full round reaches every READY endpoint


def test_ready_driver_refuses_a_set_up_that_is_not_ready() -> None:
    broken = w.PolicySetup("pick_first")  # pick_first has one READY subchannel, not 3
    with pytest.raises(RuntimeError, match="expected 3"):
        w.ready_driver(broken, 3)


@pytest.mark.parametrize(
    "run",
    [
        w.time_floor,
        lambda loops: w.time_pick(ROUND_ROBIN, 3, loops),
        lambda loops: w.time_pick(w.POLICIES[0], 3, loops),
        lambda loops: w.time_rebuild(ROUND_ROBIN, 5, loops),
        lambda loops: w.time_update_new(ROUND_ROBIN, 5, loops),
        lambda loops: w.time_update_same(ROUND_ROBIN, 5, loops),
        lambda loops: w.time_threads(ROUND_ROBIN, 5, 2, loops),
        w.time_corpus_in_process,
    ],
    ids=[
        "floor",
        "pick_rr",
        "pick_pf",
        "rebuild",
        "update_new",
        "update_same",
        "threads",
        "corpus",
    ],
)
def test_every_workload_runs(run: Callable[[int], float], monkeypatch: pytest.MonkeyPatch) -> None:
    few = w.corpus()[:8]  # the whole corpus would take seconds through a subprocess
    monkeypatch.setattr(w, "corpus", lambda: few)
    assert run(1) > 0


def test_the_corpus_benchmarks_count_the_cases_make_conformance_runs() -> None:
    # The suite divides each corpus run by CORPUS_CASES, counted from the files without
    # loading them; it must be the number of cases the loader finds.
    assert len(load_cases(CASES_DIR)) == w.CORPUS_CASES


def test_the_started_adapter_runs_the_corpus(monkeypatch: pytest.MonkeyPatch) -> None:
    few = w.corpus()[:8]
    monkeypatch.setattr(w, "corpus", lambda: few)
    w.started_adapter.cache_clear()
    try:
        assert w.time_corpus_subprocess_started(1) > 0
    finally:
        w.started_adapter().inner.close()
        w.started_adapter.cache_clear()


class _Recorder:
    def __init__(self) -> None:
        self.names: list[str] = []

    def bench_time_func(self, name: str, _func: object, inner_loops: int = 1) -> None:
        assert inner_loops >= 1
        self.names.append(name)


def test_suite_names_are_unique_and_the_filter_keeps_prefixes() -> None:
    everything = _Recorder()
    suite.register(everything)
    names = everything.names
    assert len(names) == len(set(names))
    assert names[0] == "floor/empty_method_call"
    assert all(len(name.split("/")) in (2, 3) for name in names)
    assert {"pick/round_robin/10000", "rebuild/round_robin/10000", "corpus/subprocess"} <= set(
        names
    )
    picks = _Recorder()
    suite.register(picks, ["floor", "pick/round_robin/"])
    assert picks.names == [n for n in names if n.startswith(("floor", "pick/round_robin/"))]


def test_the_explore_benchmarks_run_only_when_asked_for(monkeypatch: pytest.MonkeyPatch) -> None:
    everything = _Recorder()
    suite.register(everything)
    assert not [n for n in everything.names if n.startswith("explore/")]  # seconds each
    asked = _Recorder()
    suite.register(asked, ["explore/"])
    assert asked.names == [
        f"explore/{subject}/{way}" for subject in w.EXPLORE_BOUNDS for way in ("replay", "fork")
    ]
    monkeypatch.setitem(w.EXPLORE_BOUNDS, "tiny", ("pick_first", 2, 1, None))
    assert w.time_explore("tiny", True, 1) > 0
    assert w.time_explore("tiny", False, 1) > 0


def test_every_channel_client_runs_rpcs(monkeypatch: pytest.MonkeyPatch) -> None:
    assert suite.CHANNEL_CLIENTS == real_rpcs.CLIENTS
    try:
        for client in real_rpcs.CLIENTS:
            assert real_rpcs.time_unary(client, 3) > 0
        monkeypatch.setattr(real_rpcs, "PAIRED_ROUNDS", 3)
        assert real_rpcs.time_paired_ratio("balanced", 1) > 0
    finally:
        real_rpcs.close()
