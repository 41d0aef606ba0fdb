"""``conformance explore --keep-going``: violating paths are recorded, not extended, and
grouped into classes; the search goes on (issue 18: exploring real implementations, which
have known divergences at depth 1).

In-process only, on planted bugs (conformance/planted.py): `make check` needs no Node or
Java.  Depths are small (seconds).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest

from conformance import explore as explore_module
from conformance import protocol, wire
from conformance.cases import case_from_json
from conformance.cli import main
from conformance.explore import (
    Bounds,
    Target,
    Visit,
    canonical_message,
    explore,
    render,
    unmodelled_options,
    violation_signature,
)
from conformance.planted import (
    BUGS,
    BrokenAdapter,
    Bug,
    IgnoresEmptyUpdate,
    LeaksSubchannelsOnClose,
)
from conformance.planted import _pick_first_building as pick_first_building
from conformance.runner import CaseRun
from conformance.transport import InProcessTransport, Transport
from tests.conformance.helpers import fails_only_on, one_line_error


class TwoBugs(IgnoresEmptyUpdate, LeaksSubchannelsOnClose):
    """pick_first with two planted bugs: an empty update is ignored (PF-2) and Close
    leaves the subchannels running (PF-23, LB-3)."""


TWO_BUGS = Bug(
    "pf-two-bugs",
    "pick_first",
    ("PF-2", "PF-23"),
    lambda: pick_first_building(TwoBugs),
    "two planted bugs",
)


@attrs.frozen
class TwoBugsTarget(Target):
    """The reference whose pick_first has both bugs, in-process."""

    def connect(self) -> Transport:
        return InProcessTransport(BrokenAdapter(TWO_BUGS).handle)


PF2 = Bounds("pick_first", 2, 3)


def _requirements(result: explore_module.Result) -> list[set[str]]:
    return [set(v.counterexample.requirements) for v in result.violations]


@pytest.mark.req("CONF-10", "PF-2", "PF-23")
def test_two_planted_bugs_in_one_policy_give_two_classes() -> None:
    result = explore(PF2, TwoBugsTarget(), keep_going=True, cover=False)
    classes = _requirements(result)
    assert any("PF-2" in c for c in classes)
    assert any("PF-23" in c for c in classes)
    assert len(classes) == len(result.violations) >= 2
    # Every class's first path is a shortest one, and the classes come in BFS order.
    lengths = [len(v.counterexample.path) for v in result.violations]
    assert lengths == sorted(lengths)
    assert lengths[0] == 1  # the empty update alone
    # The search went on to the depth asked for, and counted what it pruned.
    assert result.depth_completed == 3
    assert sum(v.paths for v in result.violations) == result.violating_paths
    assert 0 < result.pruned <= result.violating_paths
    # Without keep_going the search stops at the first of them, the same path.
    first = explore(PF2, TwoBugsTarget(), cover=False)
    assert first.counterexample is not None
    assert first.counterexample.path == result.violations[0].counterexample.path
    assert first.depth_completed == 0
    assert result.counterexample == first.counterexample


@pytest.mark.req("CONF-10")
def test_a_violating_path_is_not_extended(monkeypatch: pytest.MonkeyPatch) -> None:
    replayed: list[tuple[wire.JsonObject, ...]] = []
    violating: list[tuple[wire.JsonObject, ...]] = []
    real = explore_module._visit

    def recording(
        run: CaseRun, bounds: Bounds, path: Sequence[wire.JsonObject], start: int, **kw: Any
    ) -> Visit:
        # Every path ends here, replayed or forked from its state (explore.fork).
        visit = real(run, bounds, path, start, **kw)
        replayed.append(visit.path)
        if visit.failure is not None:
            violating.append(visit.path)
        return visit

    monkeypatch.setattr(explore_module, "_visit", recording)
    result = explore(PF2, TwoBugsTarget(), keep_going=True, cover=False)
    assert len(violating) == result.violating_paths > 0
    for bad in violating:  # no replayed path starts with a violating one
        extended = [p for p in replayed if len(p) > len(bad) and p[: len(bad)] == bad]
        assert extended == [], bad


@pytest.mark.req("CONF-10")
def test_on_a_correct_implementation_keep_going_changes_nothing() -> None:
    plain = explore(PF2, Target(), keep_keys=True, cover=False)
    kept = explore(PF2, Target(), keep_keys=True, cover=False, keep_going=True)
    assert (kept.keys, kept.transitions, kept.level_sizes) == (
        plain.keys,
        plain.transitions,
        plain.level_sizes,
    )
    assert (kept.violations, kept.violating_paths, kept.pruned) == ((), 0, 0)
    assert kept.counterexample is None
    assert kept.to_json()["keep_going"] == {"violating_paths": 0, "pruned": 0, "classes": []}
    assert "keep_going" not in plain.to_json()


@pytest.mark.req("CONF-10")
def test_signatures_ignore_steps_picks_subchannels_and_addresses() -> None:
    one = "pick 7 chose subchannel 3 at step 9, not one of [1, 2] for 10.0.0.1:80"
    two = "pick 2 chose subchannel 5 at step 4, not one of [4, 6] for [2001:db8::1]:443"
    assert canonical_message(one) == canonical_message(two)
    assert (
        canonical_message(one)
        == "pick P chose subchannel S1 at step N, not one of [S2, S3] for <A1>"
    )
    # The same subchannel twice and two subchannels stay apart, as do adapters' own names.
    assert canonical_message("subchannel 2 then 2") != canonical_message("subchannel 2 then [3]")
    assert canonical_message("subchannel js-sc-1 x") == canonical_message("subchannel js-sc-2 x")
    # The failing step's own line (its input) is left out; the requirement IDs are kept.
    a = violation_signature(("PF-2",), "step 3 (resolver_update [])\nPF-2 at step 3: not rejected")
    b = violation_signature(("PF-2",), "step 1 (pick 4)\nPF-2 at step 1: not rejected")
    assert a == b == "PF-2\nPF-2 at step N: not rejected"
    assert violation_signature(("PF-9",), "step 1 (x)\nPF-2 at step 1: not rejected") != a


@pytest.mark.req("CONF-5", "CONF-10", "CONF-11")
def test_the_command_line_writes_every_class_deterministically(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(explore_module, "Target", TwoBugsTarget)
    outputs = []
    for run in ("1", "2"):
        argv = ["explore", "--policy", "pick_first", "--in-process", "--endpoints", "2"]
        argv += ["--depth", "2", "--keep-going", "--no-timings", "--out", str(tmp_path / run)]
        assert main(argv) == 1
        outputs.append((tmp_path / run / "explore-pick_first-k2-d2.json").read_bytes())
    printed = capsys.readouterr().out
    assert outputs[0] == outputs[1]  # byte-identical: no wall-clock time in the file
    data = json.loads(outputs[0])
    assert "seconds" not in data
    kept = data["keep_going"]
    assert len(kept["classes"]) >= 2
    assert "the states behind them were not explored" in printed
    assert f"{kept['pruned']} of them shorter than the depth were not extended" in printed
    # Each class's shortest case is written and fails on the bug, passes on the reference.
    for one in kept["classes"]:
        path = tmp_path / "1" / "explore" / f"{one['case']['id']}.json"
        case = case_from_json(json.loads(path.read_text()), "explore", path)
        fails_only_on(case, TwoBugsTarget().connect)
    assert render(data).count("  class ") == len(kept["classes"])


@pytest.mark.req("CONF-10")
def test_keep_going_with_shards_is_refused_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["explore", "--policy", "pick_first", "--in-process", "--depth", "2"]
    assert main([*argv, "--keep-going", "--shard", "0/2"]) == 2
    one_line_error(capsys, "--keep-going", "--shard")


class _ReportsPerChildDeclaringOnChange(BrokenAdapter):
    """round_robin reporting after every child's report (planted rr-reports-per-child,
    RR-10), declaring round_robin.update_report=on_change, a selection-only option no
    monitor models (grpc-java's value)."""

    def __init__(self) -> None:
        super().__init__(BUGS["rr-reports-per-child"])

    def capabilities(self) -> protocol.Capabilities:
        caps = super().capabilities()
        options = dict(caps.spec_options) | {"round_robin.update_report": "on_change"}
        return attrs.evolve(caps, spec_options=tuple(sorted(options.items())))


@attrs.frozen
class _OnChangeTarget(Target):
    def connect(self) -> Transport:
        return InProcessTransport(_ReportsPerChildDeclaringOnChange().handle)


@pytest.mark.req("CONF-4", "CONF-10", "RR-10")
def test_a_class_judged_by_the_default_of_a_declared_unmodelled_option_is_marked() -> None:
    assert unmodelled_options({"round_robin.update_report": "on_change"}) == (
        ("round_robin.update_report", "on_change", ("RR-10",)),
    )
    assert unmodelled_options({"round_robin.update_report": "every_update"}) == ()
    bounds = Bounds("round_robin", 2, 2)
    marked = explore(bounds, _OnChangeTarget(), keep_going=True, cover=False)
    assert marked.violations
    rr10 = [v for v in marked.violations if "RR-10" in v.counterexample.requirements]
    assert rr10
    assert all(v.unmodelled == ("round_robin.update_report=on_change",) for v in rr10)
    assert "which no monitor models" in render(marked.to_json())
    # The same bug on an adapter declaring the default: nothing marked.
    plain = explore(bounds, Target(planted="rr-reports-per-child"), keep_going=True, cover=False)
    assert plain.violations
    assert all(v.unmodelled == () for v in plain.violations)
