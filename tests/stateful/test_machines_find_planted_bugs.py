"""The tests of the tests: each state machine finds bugs planted in its policy, by default.

Each planted bug is the real reference policy with one thing changed, made from its
public pieces (a builder subclass, a ClientConn or Picker wrapped around the real
one), so that it is the bug, not the scaffolding, that a run finds.  The machine is
the real one (a subclass that only swaps the builder in), run under the ``default``
Hypothesis profile -- what ``make check`` runs -- with a fixed seed and no example
database, and it must fail with the requirement the bug breaks (issue 19).

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

Refimpl names these plants depend on: ``LeastRequestBuilder.build``,
``LeastRequestPicker`` and its ``choice_count`` attribute; ``WeightedRoundRobinBuilder.
parse_config`` and the ``WeightedRoundRobinConfig`` fields ``blackout_period``,
``weight_expiration_period``, ``error_utilization_penalty``,
``enable_oob_load_report``; ``RoundRobinBuilder.build``; ``PickFirstBuilder`` (through
tests/refimpl/test_pick_first.py's ``HealthLeafBuilder``); and the balancer API of
refimpl/balancer.py.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, ClassVar

import attrs
import pytest
from hypothesis import Phase, seed, settings
from hypothesis.stateful import RuleBasedStateMachine, run_state_machine_as_test

from refimpl.balancer import (
    Balancer,
    BalancerState,
    BuildOptions,
    ClientConn,
    Complete,
    DoneInfo,
    HealthListener,
    JsonValue,
    NewSubConnOptions,
    Picker,
    PickInfo,
    PickResult,
    SubConn,
    SubConnState,
)
from refimpl.driver import Driver
from refimpl.least_request import LeastRequestBuilder, LeastRequestPicker
from refimpl.round_robin import RoundRobinBuilder
from refimpl.weighted_round_robin import WeightedRoundRobinBuilder, WeightedRoundRobinConfig
from refimpl.wrr_scheduler import SchedulerKind
from spec.catalogue.pick_first import ReresolutionMode
from spec.connectivity import State
from spec.types import Address, Duration
from tests.refimpl.test_pick_first import HealthLeafBuilder
from tests.stateful.test_least_request_machine import SELECTIONS, LeastRequestMachine
from tests.stateful.test_pick_first_machine import PickFirstMachine
from tests.stateful.test_round_robin_machine import RoundRobinMachine
from tests.stateful.test_weighted_round_robin_machine import WeightedRoundRobinMachine

SEED = 19

# --- wrapping the ClientConn a balancer reports to ---


class _PassThrough(ClientConn):
    """Passes everything to the channel's ClientConn; subclasses change one thing."""

    def __init__(self, cc: ClientConn) -> None:
        self.cc = cc

    def new_subconn(self, addresses: tuple[Address, ...], options: NewSubConnOptions) -> SubConn:
        return self.cc.new_subconn(addresses, options)

    def update_state(self, state: BalancerState) -> None:
        self.cc.update_state(state)

    def resolve_now(self) -> None:
        self.cc.resolve_now()


class _WrapsPickers(_PassThrough):
    """Every picker the balancer reports goes through ``wrap``."""

    wrap: ClassVar[Callable[[Picker], Picker]]

    def update_state(self, state: BalancerState) -> None:
        self.cc.update_state(BalancerState(state.state, type(self).wrap(state.picker)))


# --- least_request_experimental ---


def _one_sample_fewer(picker: Picker) -> Picker:
    """choiceCount 2 becomes one uniform draw: random balancing (breaks LR-7, LR-10)."""
    if isinstance(picker, LeastRequestPicker):
        picker.choice_count -= 1
    return picker


class _NoDecrementOnError(Picker):
    """An RPC that fails is never counted down (breaks LR-8)."""

    def __init__(self, picker: Picker) -> None:
        self.picker = picker

    def pick(self, info: PickInfo) -> PickResult:
        result = self.picker.pick(info)
        if not isinstance(result, Complete):
            return result
        done = result.done

        def done_unless_failed(done_info: DoneInfo) -> None:
            if done_info.error is None and done is not None:
                done(done_info)

        return result.with_done(done_unless_failed)


def _planted_lr(wrap: Callable[[Picker], Picker]) -> type[LeastRequestMachine]:
    conn = type("PlantedConn", (_WrapsPickers,), {"wrap": staticmethod(wrap)})

    class PlantedBuilder(LeastRequestBuilder):
        def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
            return super().build(conn(cc), options)

    class Planted(LeastRequestMachine):
        def build(self, seed: int, health_checking: bool, variant: int) -> Driver:
            builder = PlantedBuilder(SELECTIONS[variant])
            return Driver(builder, seed=seed, health_checking=health_checking)

    return Planted


# --- weighted_round_robin: one config field misread ---


def _planted_wrr(**misread: Any) -> type[WeightedRoundRobinMachine]:
    class PlantedBuilder(WeightedRoundRobinBuilder):
        def parse_config(self, config: JsonValue) -> WeightedRoundRobinConfig:
            return attrs.evolve(super().parse_config(config), **misread)

    class Planted(WeightedRoundRobinMachine):
        def build(self, seed: int, health_checking: bool, variant: int) -> Driver:
            kind = [SchedulerKind.STATIC_STRIDE, SchedulerKind.SMOOTH][variant]
            builder = PlantedBuilder(scheduler=kind)
            return Driver(builder, seed=seed, health_checking=health_checking)

    return Planted


# --- round_robin ---


class _AdvancesTwice(Picker):
    """Each pick moves the rotation on by two: with two READY endpoints one gets every
    pick (breaks RR-7)."""

    def __init__(self, picker: Picker) -> None:
        self.picker = picker

    def pick(self, info: PickInfo) -> PickResult:
        self.picker.pick(info)
        return self.picker.pick(info)


class _RotationAdvancesTwice(RoundRobinBuilder):
    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        conn = type("PlantedConn", (_WrapsPickers,), {"wrap": staticmethod(_AdvancesTwice)})
        return super().build(conn(cc), options)


class _PlantedRoundRobin(RoundRobinMachine):
    builder = _RotationAdvancesTwice()


# --- pick_first as a leaf that watches health ---


class _IgnoresUnhealthy(_PassThrough):
    """Health reports other than READY never reach pick_first, so it keeps picking an
    unhealthy subchannel (breaks PF-27, HEALTH-*)."""

    def new_subconn(self, addresses: tuple[Address, ...], options: NewSubConnOptions) -> SubConn:
        sub = self.cc.new_subconn(addresses, options)
        register = sub.register_health_listener

        def register_filtered(listener: HealthListener) -> None:
            def only_ready(state: SubConnState) -> None:
                if state.state is State.READY:
                    listener(state)

            register(only_ready)

        sub.register_health_listener = register_filtered  # type: ignore[method-assign]
        return sub


class _IgnoresUnhealthyLeaf(HealthLeafBuilder):
    def build(self, cc: ClientConn, options: BuildOptions) -> Balancer:
        return super().build(_IgnoresUnhealthy(cc), options)


class _PlantedPickFirst(PickFirstMachine):
    def leaf_builder(self, mode: ReresolutionMode) -> HealthLeafBuilder:
        return _IgnoresUnhealthyLeaf(mode)


# bug -> (the machine with it planted, requirement IDs of which the failure must name one)
PLANTED: dict[str, tuple[type[RuleBasedStateMachine], tuple[str, ...]]] = {
    "lr-one-sample-fewer": (_planted_lr(_one_sample_fewer), ("LR-10",)),
    # The machine compares the balancer's counts with the monitor's after every step.
    "lr-no-decrement-on-error": (_planted_lr(_NoDecrementOnError), ("LR-8", "LR-11", "==")),
    # Weights used early look, to the monitor, like an uneven round-robin fallback.
    "wrr-ignores-blackout": (_planted_wrr(blackout_period=Duration(0)), ("WRR-8", "WRR-13")),
    "wrr-weights-never-expire": (
        _planted_wrr(weight_expiration_period=Duration.of(seconds=10**6)),
        ("WRR-9", "WRR-13", "WRR-16"),
    ),
    "wrr-ignores-error-penalty": (
        _planted_wrr(error_utilization_penalty=0.0),
        ("WRR-5", "WRR-16"),
    ),
    "wrr-never-listens-out-of-band": (
        _planted_wrr(enable_oob_load_report=False),
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
    found = failure_of(machine, SEED)
    assert found is not None, f"{bug}: the machine passed under the default profile"
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
