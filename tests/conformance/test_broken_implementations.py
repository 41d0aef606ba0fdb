"""The suite catches every planted bug, and the reference passes every case.

``conformance/planted.py`` plants one plausible bug per variant of a
reference policy.  For each, :data:`CATCHES` names cases that must FAIL against it
(a missed expectation or a monitor violation); the list is the suite's claim that
the bug cannot slip through, and the test checks the claim.  The scaffolding the
bugs are planted in, with no bug, passes the whole corpus, so a failure is the
bug's doing.
"""

from __future__ import annotations

import functools
import subprocess
import sys

import pytest

from conformance.cases import Case, load_cases
from conformance.planted import BUGS, CONTROLS, broken_transport
from conformance.results import CaseResult, Outcome
from conformance.runner import run_cases
from conformance.transport import SubprocessTransport
from tests.conformance.helpers import ROOT

# bug -> cases that catch it (each must FAIL).  A case that catches most bugs by accident
# (every pick_first case catches "repeats reports") is not listed; the direct ones are.
CATCHES: dict[str, tuple[str, ...]] = {
    "pf-no-sticky-tf": (
        "pf-sticky-transient-failure",
        "pf-seed-profile-retry-stays-sticky",
    ),
    "pf-no-tf-rereport": ("pf-sticky-failure-rereported-after-every-address-failed-again",),
    "pf-keeps-losing-attempts": (
        "pf-first-ready-wins-shuts-down-others",
        "pf-later-address-wins-race",
        "pf-one-address-down-uses-next",
    ),
    "pf-ignores-empty-update": (
        "pf-empty-update-rejected",
        "pf-empty-update-while-ready",
        "pf-empty-update-then-update-connects",
    ),
    "pf-connects-all-at-once": (
        "pf-connects-first-address-only",
        "pf-happy-eyeballs-second-address-after-delay",
    ),
    "pf-no-happy-eyeballs-timer": (
        "pf-happy-eyeballs-second-address-after-delay",
        "pf-happy-eyeballs-timer-walks-whole-list",
        "pf-first-ready-wins-shuts-down-others",
    ),
    "pf-keeps-duplicate-addresses": ("pf-duplicate-address-gets-one-turn-per-pass",),
    "pf-no-family-interleaving": (
        "pf-interleaves-ipv6-first-list",
        "pf-interleaves-ipv4-first-list",
        "pf-interleaves-unknown-family",
        "pf-ipv4-mapped-ipv6-counts-as-ipv4",
    ),
    "pf-fails-on-first-error": (
        "pf-all-addresses-fail",
        "pf-one-address-down-uses-next",
        "pf-happy-eyeballs-end-of-list-waits-for-every-attempt",
    ),
    "pf-waits-for-timer-after-failure": (
        "pf-all-addresses-fail",
        "pf-one-address-down-uses-next",
        "pf-happy-eyeballs-failure-restarts-timer",
    ),
    "pf-picks-shut-down-subchannel": (
        "pf-update-drops-ready-address",
        "pf-attributes-make-a-new-address",
    ),
    "pf-reconnects-when-connection-lost": (
        "pf-ready-lost-goes-idle",
        "pf-update-while-idle-waits",
        "pf-seed-profile-ready-to-failure-goes-idle",
    ),
    "pf-idle-picker-never-wakes": (
        "pf-idle-first-pick-reconnects",
        "pf-connecting-drops-to-idle-counts-as-lost",
    ),
    "pf-resolver-error-clobbers-picker": (
        "pf-resolver-error-while-ready-ignored",
        "pf-resolver-error-while-connecting-ignored",
    ),
    "pf-resolver-failure-is-sticky": (
        "pf-resolver-error-then-update-connects",
        "pf-empty-update-then-update-connects",
    ),
    "pf-leaks-subchannels-on-close": (
        "pf-close-shuts-down-subchannels",
        "pf-close-shuts-down-every-attempt",
        "pf-close-in-sticky-failure",
    ),
    "pf-repeats-reports": ("pf-connecting-reported-once",),
    "pf-top-level-watches-health": ("pf-top-level-never-watches-health",),
    "pf-accepts-non-boolean-shuffle": (
        "pf-config-wrong-type-fails-channel",
        "pf-config-invalid-after-good-keeps-old-config",
    ),
    "pf-ignores-shuffle": (
        "pf-shuffle-first-connection-uniform",
        "pf-shuffle-every-order-reachable",
        "pf-weighted-shuffle-first-connection-follows-weights",
    ),
    "pf-fisher-yates-stops-early": (
        "pf-shuffle-first-connection-uniform",
        "pf-shuffle-every-order-reachable",
        "pf-weighted-shuffle-first-connection-follows-weights",
    ),
    "pf-shuffle-ignores-weights": ("pf-weighted-shuffle-first-connection-follows-weights",),
    "rr-picker-starts-at-first-child": ("rr-new-picker-starts-at-random-endpoint",),
    "rr-never-rotates": ("rr-update-rotates-endpoint-list",),
    "rr-picks-non-ready-children": (
        "rr-picks-skip-connecting-endpoints",
        "rr-ready-endpoint-beats-failures",
        "health-unhealthy-endpoint-gets-no-picks",
    ),
    "rr-off-by-one-rotation": (
        "rr-spreads-picks-evenly",
        "rr-three-endpoints-share-evenly",
    ),
    "rr-idle-counted-as-idle": (
        "rr-idle-endpoint-reconnects",
        "agg-idle-child-counts-as-connecting-against-failure",
    ),
    "rr-no-exit-idle-for-idle-children": (
        "rr-idle-endpoint-reconnects",
        "rr-one-endpoint-down-others-share",
        "rr-ready-loss-reconnects-with-no-picks-lost",
    ),
    "rr-resolver-error-fails-ready-channel": (
        "rr-resolver-error-keeps-ready-endpoints",
        "rr-resolver-error-reaches-failing-children",
    ),
    "rr-accepts-empty-update": (
        "rr-empty-update-rejected",
        "rr-empty-update-then-update-recovers",
    ),
    "rr-keeps-removed-endpoints": (
        "rr-update-removes-endpoint",
        "rr-update-replaces-every-endpoint",
        "agg-removed-child-no-longer-counts",
    ),
    "rr-queues-picks-in-failure": (
        "rr-all-endpoints-fail",
        "rr-wait-for-ready-in-failure-fails-not-drops",
        "agg-every-child-failed-is-failure",
    ),
    "rr-leaks-children-on-close": (
        "rr-close-shuts-down-every-subchannel",
        "rr-close-reports-nothing",
    ),
    "rr-reports-per-child": (
        "rr-update-reports-once",
        "rr-connects-every-endpoint",
    ),
    "wrr-ignores-blackout": ("wrr-blackout-delays-weights",),
    "wrr-weights-never-expire": ("wrr-weights-expire-without-reports",),
    "wrr-ignores-error-penalty": ("wrr-error-rate-penalises-weight",),
    "wrr-never-rebuilds-schedule": (
        "wrr-out-of-band-weights-split-picks",
        "wrr-short-update-period-raised",
    ),
    "wrr-never-listens-out-of-band": (
        "wrr-out-of-band-weights-split-picks",
        "wrr-per-call-reports-ignored-with-out-of-band",
    ),
    "wrr-default-blackout-zero": ("wrr-default-periods",),
    "wrr-default-expiration-ten-seconds": ("wrr-default-periods",),
    "wrr-default-update-period-thirty-seconds": ("wrr-default-periods",),
    "sc-invalid-config-ignored": (
        "sc-not-json-first-update-fails-channel",
        "sc-malformed-entry-makes-config-invalid",
        "sc-invalid-after-good-keeps-config-in-force",
    ),
    "sc-bad-policy-config-tries-next-entry": ("sc-invalid-policy-config-does-not-fall-through",),
    "gs-swaps-on-connecting": ("sc-switch-keeps-ready-picker-until-new-policy-ready",),
    "gs-forwards-stale-reresolution": ("sc-replaced-policy-cannot-ask-for-reresolution",),
    "lr-no-decrement-on-error": ("lr-failed-requests-release-their-count",),
    "lr-ignores-outstanding-counts": ("lr-busy-endpoint-gets-no-picks",),
    "lr-choice-count-not-clamped": ("lr-choice-count-above-ten-clamped-to-ten",),
    "lr-default-choice-count-ten": ("lr-choice-count-defaults-to-two",),
    "lr-counts-survive-reconnect": ("lr-reconnected-endpoint-starts-from-zero",),
    "rr-health-failure-ignored": (
        "health-unhealthy-endpoint-gets-no-picks",
        "health-all-unhealthy-fails-with-health-error",
        "health-unhealthiness-costs-no-connection",
    ),
    # Written by an outside implementer (issue 15); "(new)" marks a case added to catch it.
    "pf-timer-survives-ready": ("pf-ready-cancels-attempt-timer",),
    "pf-lost-keeps-cursor": (
        "pf-reconnect-after-loss-starts-from-first-address",
        "pf-connecting-drops-to-idle-counts-as-lost",
    ),
    "pf-exit-idle-restarts-pass": ("pf-exit-idle-ignored-in-failure",),
    "pf-resolver-error-ignored-only-when-ready": ("pf-resolver-error-while-connecting-ignored",),
    "pf-sticky-idle-not-reconnected": (
        "pf-sticky-transient-failure",
        "pf-sticky-failure-recovers-on-any-address",
    ),
    "pf-dedup-by-host-port": ("pf-server-name-makes-a-distinct-address-in-one-list",),  # new
    "pf-fails-before-all-failed": ("pf-happy-eyeballs-end-of-list-waits-for-every-attempt",),
    "pf-update-while-connecting-no-pass": (
        "pf-update-while-connecting-keeps-listed-attempt",
        "pf-update-while-connecting-may-repeat-connecting",
    ),
    "rr-empty-update-keeps-children": (
        "rr-empty-update-then-update-recovers",
        "agg-no-children-after-resolver-error-is-failure",
    ),
    "rr-existing-children-not-updated": ("rr-ready-address-gains-server-name-leaf-reconnects",),
    "rr-duplicate-endpoint-last-wins": ("rr-repeated-endpoint-keeps-first-address-order",),  # new
    "wrr-cpu-utilization-first": ("wrr-cpu-utilization-when-no-application-utilization",),
    "wrr-blackout-from-last-report": ("wrr-blackout-counts-from-first-report-of-run",),  # new
    "wrr-expiry-from-first-report": ("wrr-steady-reports-keep-weights",),  # new
    "lr-one-sample-short": (
        "lr-two-choices-law-over-many-picks",
        "lr-choice-count-defaults-to-two",
    ),
    "lr-counts-reset-every-picker": ("lr-busy-endpoint-gets-no-picks",),
    "lr-choice-count-below-two-raised": ("lr-choice-count-below-two-rejected",),
    "gs-current-leaving-ready-not-swapped": ("sc-old-policy-leaving-ready-hands-over",),
    "gs-swaps-only-on-ready": (
        "sc-pending-policy-failing-takes-over",  # new
        "sc-pending-policy-going-idle-takes-over",  # new
    ),
    "pf-lost-keeps-racing-attempts": ("pf-connecting-drops-to-idle-counts-as-lost",),
    "pf-health-failure-as-connecting": (
        "health-all-unhealthy-fails-with-health-error",
        "health-unhealthy-and-failing-endpoints-fail-picks",
    ),
    "pf-empty-update-keeps-subchannels": (
        "pf-empty-update-while-ready",
        "pf-empty-update-then-update-connects",
    ),
    "rr-children-lose-resolver-attributes": (
        "rr-subchannels-watch-health",
        "rr-connects-every-endpoint",
    ),
    "lr-done-releases-latest-pick": (
        "lr-done-releases-its-own-endpoint",  # new
        "lr-reconnected-endpoint-starts-from-zero",
    ),
    "wrr-penalty-over-utilization": ("wrr-error-rate-penalises-weight",),
    "wrr-expiry-keeps-blackout-run": ("wrr-expired-weight-waits-out-a-new-blackout",),  # new
    "wrr-config-update-skips-kept-endpoints": ("wrr-new-penalty-applies-to-kept-endpoints",),  # new
    "gs-swapped-out-policy-not-closed": (
        "sc-switch-keeps-ready-picker-until-new-policy-ready",
        "sc-old-policy-leaving-ready-hands-over",
    ),
    "gs-update-compared-with-current": ("sc-switching-back-while-pending-replaces-pending",),  # new
    "sc-validates-every-entry": ("sc-first-registered-entry-selected",),
    "sc-multi-key-entry-takes-first-key": ("sc-malformed-entry-makes-config-invalid",),
    "wrr-lenient-oob-flag": ("wrr-non-boolean-oob-flag-rejected",),  # new
    "lr-null-choice-count-rejected": ("lr-null-choice-count-takes-default",),  # new
    "pf-sticky-count-survives-new-pass": ("pf-sticky-failure-count-restarts-after-update",),  # new
    "pf-null-shuffle-rejected": ("pf-null-shuffle-counts-as-absent",),  # new
    "pf-attempt-delay-half-second": (
        "pf-happy-eyeballs-second-address-after-delay",
        "pf-happy-eyeballs-failure-restarts-timer",
    ),
    "pf-keeps-ready-only-at-same-position": ("pf-update-keeps-ready-address",),
    "lr-picks-connecting-endpoints": (
        "lr-busy-endpoint-gets-no-picks",
        "lr-choice-count-defaults-to-two",
    ),
    "gs-holds-pending-idle": ("sc-pending-policy-going-idle-takes-over",),  # new
    "rr-attribute-change-rebuilds-child": ("rr-endpoint-attribute-change-keeps-child",),  # new
    "pf-health-connecting-as-ready": ("health-connecting-health-state-queues",),
    "pf-health-error-dropped": (
        "health-all-unhealthy-fails-with-health-error",
        "health-unhealthy-and-failing-endpoints-fail-picks",
    ),
    "rr-exit-idle-once-per-child": (
        "rr-endpoint-reconnects-after-every-loss",  # new
        "rr-new-picker-starts-at-random-endpoint",
    ),
    "rr-resolver-error-before-update-ignored": (
        "rr-resolver-error-before-update-fails-picks",
        "agg-no-children-after-resolver-error-is-failure",
    ),
}


@functools.cache
def corpus() -> dict[str, Case]:
    return {case.id: case for case in load_cases()}


def run_against(bug: str, case_ids: tuple[str, ...] | None = None) -> list[CaseResult]:
    cases = corpus()
    chosen = list(cases.values()) if case_ids is None else [cases[i] for i in case_ids]
    results, hello = run_cases(chosen, lambda: broken_transport(bug))
    assert hello is not None
    assert bug in hello.implementation.name
    return results


@pytest.mark.req("CONF-5")
def test_every_planted_bug_is_named_with_the_cases_that_catch_it() -> None:
    assert len(BUGS) >= 15
    assert set(CATCHES) == set(BUGS)
    unknown = {i for ids in CATCHES.values() for i in ids} - set(corpus())
    assert unknown == set()


@pytest.mark.req("CONF-5")
@pytest.mark.parametrize("bug", sorted(BUGS))
def test_the_suite_catches_the_planted_bug(bug: str) -> None:
    planted = BUGS[bug]
    results = run_against(bug, CATCHES[bug])
    missed = [f"{r.case.id}: {r.outcome.value} {r.message}" for r in results]
    caught = [r for r in results if r.outcome is Outcome.FAIL]
    assert len(caught) == len(results), f"{bug} ({planted.summary}) slips through: {missed}"
    for result in caught:
        assert result.case.policy == planted.policy


@pytest.mark.req("CONF-4", "CONF-5")
@pytest.mark.parametrize("control", sorted(CONTROLS))
def test_the_scaffolding_without_a_bug_passes_every_case(control: str) -> None:
    results = run_against(control)
    problems = [
        f"{r.case.id}: {r.outcome.value}: {r.message}"
        for r in results
        if r.outcome not in (Outcome.PASS, Outcome.SKIPPED)
    ]
    assert problems == []
    assert sum(r.outcome is Outcome.PASS for r in results) >= 120


@pytest.mark.req("CONF-5")
def test_the_requirements_a_bug_breaks_are_checked_by_its_catching_cases() -> None:
    for name, bug in BUGS.items():
        checked = {req for i in CATCHES[name] for req in _requirements(corpus()[i])}
        assert set(bug.breaks) & checked, f"{name}: breaks {bug.breaks}, cases check {checked}"


def _requirements(case: Case) -> set[str]:
    return set(case.requirements) | {r for step in case.steps for r in step.requirements}


@pytest.mark.req("CONF-5")
def test_a_planted_bug_runs_as_a_subprocess_adapter() -> None:
    command = [sys.executable, "-m", "conformance.planted", "pf-no-sticky-tf"]
    case = corpus()["pf-sticky-transient-failure"]
    results, hello = run_cases([case], lambda: SubprocessTransport(command, cwd=str(ROOT)))
    assert hello is not None
    assert "pf-no-sticky-tf" in hello.implementation.name
    assert [r.outcome for r in results] == [Outcome.FAIL]
    listing = subprocess.run(
        [sys.executable, "-m", "conformance.planted", "--list"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert all(name in listing.stdout for name in BUGS)
