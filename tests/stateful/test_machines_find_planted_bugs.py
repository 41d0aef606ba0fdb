"""The tests of the tests: each state machine finds bugs planted in its policy, by default.

Each planted bug is the real reference policy with one documented hook replaced -- the
hooks conformance/planted.py uses (``LeastRequestBalancer.picker_type``,
``RoundRobinBuilder.sharding_type``, ``EndpointSharding.picker_type``,
``PickFirstBuilder.balancer_type``, a builder's ``parse_config``) -- so that it differs
from the reference in that one place and it is the bug, not scaffolding, that a run
finds.  Where conformance/planted.py already has the bug (the four WRR config misreads,
lr-no-decrement-on-error) its class is used as it is: one definition per bug.  The
machine is the real one (a subclass that only swaps the builder in), run under the
``default`` Hypothesis profile -- what ``make check`` runs -- with fixed seeds (SEEDS) and no
example database, and it must fail with the requirement the bug breaks (issue 19).

The shrink phase is left out: the claim is that the machine *finds* the bug within
the default number of runs, and shrinking only makes the report shorter.  The seed is
fixed so that the claim is checked the same way on every run of the suite, and the
seed is not a lucky one: over seeds 1..10 under the default profile the machines found
lr-one-sample-fewer, lr-no-decrement-on-error, wrr-ignores-blackout,
rr-rotation-advances-twice and pf-ignores-unhealthy on 10 of 10 seeds,
wrr-ignores-error-penalty and wrr-weights-never-expire on 9, and
wrr-never-listens-out-of-band on 8 (before issue 19 the least_request machine found
lr-one-sample-fewer on 2 of 10 at 60 examples, 3 of 10 at 100).
``python -m tests.stateful.test_machines_find_planted_bugs [SEEDS [PROFILE]]`` repeats
the measurement.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import pytest
from hypothesis import Phase, seed, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from conformance.planted import (
    LrNoDecrementOnError,
    WrrIgnoresBlackout,
    WrrIgnoresErrorPenalty,
    WrrNeverListensOutOfBand,
    WrrWeightsNeverExpire,
)
from refimpl.balancer import PickInfo, PickResult, RandomSource, SubConnState
from refimpl.driver import Driver
from refimpl.endpoint_sharding import EndpointSharding, EndpointShardingPicker
from refimpl.least_request import (
    LeastRequestBalancer,
    LeastRequestBuilder,
    LeastRequestPicker,
    PickTarget,
    Selection,
)
from refimpl.pick_first import PickFirstBalancer, _Entry
from refimpl.round_robin import RoundRobinBuilder
from refimpl.weighted_round_robin import WeightedRoundRobinBuilder
from refimpl.wrr_scheduler import SchedulerKind
from spec.catalogue.pick_first import ReresolutionMode
from spec.connectivity import State
from tests.refimpl.test_pick_first import HealthLeafBuilder
from tests.stateful.test_least_request_machine import SELECTIONS, LeastRequestMachine
from tests.stateful.test_pick_first_machine import PickFirstMachine
from tests.stateful.test_round_robin_machine import RoundRobinMachine
from tests.stateful.test_weighted_round_robin_machine import WeightedRoundRobinMachine

SEED = 19
# Three seeded runs, not one: which examples a seed draws depends on the installed
# Hypothesis and its dependencies (unpinned, pyproject.toml), and on 2026-12-06 a fresh
# environment no longer found wrr-never-listens-out-of-band at seed 19 alone (6 of seeds
# 1..10, where it had been 8).  A bug found on 6 of 10 seeds is missed by three
# independent seeds with probability about 0.4**3 = 0.064; the seeds are fixed, so the
# test does not flake: it fails only when an environment change makes all three miss.
SEEDS = (SEED, SEED + 1, SEED + 2)

# --- least_request_experimental: the picker it builds (picker_type) ---


class _OneSampleFewer(LeastRequestPicker):
    """Draws choiceCount - 1 samples: choiceCount 2 becomes one uniform draw, random
    balancing (breaks LR-7, LR-10)."""

    def __init__(
        self,
        targets: Sequence[PickTarget],
        choice_count: int,
        rng: RandomSource,
        selection: Selection = Selection.SAMPLE,
    ) -> None:
        super().__init__(targets, choice_count - 1, rng, selection)  # the bug: - 1


def _planted_lr(picker: type[LeastRequestPicker]) -> type[LeastRequestMachine]:
    class PlantedBalancer(LeastRequestBalancer):
        picker_type = picker

    class PlantedBuilder(LeastRequestBuilder):
        balancer_type = PlantedBalancer

    class Planted(LeastRequestMachine):
        def build(self, seed: int, health_checking: bool, variant: int) -> Driver:
            builder = PlantedBuilder(SELECTIONS[variant])
            return Driver(builder, seed=seed, health_checking=health_checking)

    return Planted


# --- weighted_round_robin: one config field misread (conformance/planted.py) ---


def _planted_wrr(builder: type[WeightedRoundRobinBuilder]) -> type[WeightedRoundRobinMachine]:
    class Planted(WeightedRoundRobinMachine):
        def build(self, seed: int, health_checking: bool, variant: int) -> Driver:
            kind = [SchedulerKind.STATIC_STRIDE, SchedulerKind.SMOOTH][variant]
            return Driver(builder(scheduler=kind), seed=seed, health_checking=health_checking)

    return Planted


# --- round_robin: the endpoint-sharding picker (sharding_type, picker_type) ---


class _AdvancesTwicePicker(EndpointShardingPicker):
    """Each pick moves the rotation on by two: with two READY endpoints one gets every
    pick (breaks RR-7)."""

    def pick(self, info: PickInfo) -> PickResult:
        with self._lock:
            index = self._next
            self._next = (index + 2) % len(self._pickers)  # the bug: + 2, not + 1
        return self._pickers[index].pick(info)


class _RotationAdvancesTwice(EndpointSharding):
    picker_type = _AdvancesTwicePicker


class _RotationAdvancesTwiceBuilder(RoundRobinBuilder):
    sharding_type = _RotationAdvancesTwice


class _PlantedRoundRobin(RoundRobinMachine):
    builder = _RotationAdvancesTwiceBuilder()


# --- pick_first as a leaf that watches health (balancer_type) ---


class _IgnoresUnhealthy(PickFirstBalancer):
    """Acts on health reports of READY only, so it keeps picking a subchannel whose health
    check fails or restarts (breaks PF-27, HEALTH-*).  Wider than conformance/planted.py's
    HealthFailureIgnored, which still acts on CONNECTING."""

    def _on_health(self, entry: _Entry, health: SubConnState) -> None:
        if health.state is State.READY:
            super()._on_health(entry, health)


class _IgnoresUnhealthyLeaf(HealthLeafBuilder):
    balancer_type = _IgnoresUnhealthy


class _PlantedPickFirst(PickFirstMachine):
    def leaf_builder(self, mode: ReresolutionMode) -> HealthLeafBuilder:
        return _IgnoresUnhealthyLeaf(mode)


# bug -> (the machine with it planted, requirement IDs of which the failure must name one)
PLANTED: dict[str, tuple[type[RuleBasedStateMachine], tuple[str, ...]]] = {
    "lr-one-sample-fewer": (_planted_lr(_OneSampleFewer), ("LR-10",)),
    # The machine compares the balancer's counts with the monitor's after every step.
    "lr-no-decrement-on-error": (_planted_lr(LrNoDecrementOnError), ("LR-8", "LR-11", "==")),
    # Weights used early look, to the monitor, like an uneven round-robin fallback.
    "wrr-ignores-blackout": (_planted_wrr(WrrIgnoresBlackout), ("WRR-8", "WRR-13")),
    "wrr-weights-never-expire": (
        _planted_wrr(WrrWeightsNeverExpire),
        ("WRR-9", "WRR-13", "WRR-16"),
    ),
    "wrr-ignores-error-penalty": (
        _planted_wrr(WrrIgnoresErrorPenalty),
        ("WRR-5", "WRR-16"),
    ),
    "wrr-never-listens-out-of-band": (
        _planted_wrr(WrrNeverListensOutOfBand),
        ("WRR-6", "WRR-7", "WRR-13", "WRR-16"),
    ),
    "rr-rotation-advances-twice": (_PlantedRoundRobin, ("RR-7",)),
    "pf-ignores-unhealthy": (_PlantedPickFirst, ("PF-", "HEALTH-")),
}


def failure_of(
    machine: type[RuleBasedStateMachine], at_seed: int, profile: str = "default"
) -> str | None:
    """What the machine reports under ``profile`` at ``at_seed``; None if nothing."""
    fixed = settings(
        machine.TestCase.settings,
        max_examples=settings.get_profile(profile).max_examples,
        database=None,
        phases=(Phase.explicit, Phase.generate),
        report_multiple_bugs=False,
        print_blob=False,
    )
    try:
        run_state_machine_as_test(seed(at_seed)(machine), settings=fixed)
    except AssertionError as failure:
        return str(failure)
    return None


@pytest.mark.parametrize("bug", sorted(PLANTED))
def test_the_default_profile_finds_each_planted_bug(bug: str) -> None:
    machine, requirements = PLANTED[bug]
    found = next((f for s in SEEDS if (f := failure_of(machine, s)) is not None), None)
    assert found is not None, f"{bug}: the machine passed under the default profile, seeds {SEEDS}"
    assert any(r in found for r in requirements), found[:2000]


def main() -> None:
    """Prints, per planted bug, on how many of seeds 1..N a profile finds it.

    ``python -m tests.stateful.test_machines_find_planted_bugs [SEEDS [PROFILE [BUG...]]]``
    """
    import tests.conftest  # noqa: F401  (registers the project's profiles)

    seeds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    profile = sys.argv[2] if len(sys.argv) > 2 else "default"
    for bug in sys.argv[3:] or sorted(PLANTED):
        machine, _ = PLANTED[bug]
        found = sum(failure_of(machine, s, profile) is not None for s in range(1, seeds + 1))
        print(f"{bug}: found on {found} of {seeds} seeds ({profile})", flush=True)


if __name__ == "__main__":
    main()
