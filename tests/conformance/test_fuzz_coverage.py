"""Fuzzing exercises every policy for real: configs, picks, load reports, health (CONF-10).

A fuzzer that sends no policy config has every weighted_round_robin and
least_request update rejected, and then checks nothing; these tests fail when
any built-in policy's fuzzing completes no picks or misses an input kind.
"""

from __future__ import annotations

import functools

import pytest

from conformance.fuzz import POLICY_CONFIGS, FuzzStats, fuzz
from tests.conformance.helpers import in_process_refimpl

POLICIES = sorted(POLICY_CONFIGS)


@functools.cache
def exercised(policy: str) -> FuzzStats:
    stats = FuzzStats()
    found = fuzz(in_process_refimpl, policy, examples=100, max_steps=30, seed=5, stats=stats)
    assert found is None, found.message if found else ""
    return stats


@pytest.mark.req("CONF-10")
@pytest.mark.parametrize("policy", POLICIES)
def test_fuzzing_completes_picks_on_every_policy(policy: str) -> None:
    stats = exercised(policy)
    assert stats.picks_completed > 0
    assert stats.subchannels_created > 0
    assert {"CONNECTING", "READY", "TRANSIENT_FAILURE"} <= stats.states_reached
    assert stats.configs_accepted > 0
    assert stats.inputs["done"] > 0
    # Resolver errors arrive in every state the policy reaches, and before any report.
    assert stats.resolver_errors_in >= stats.states_reached | {"IDLE"}


@pytest.mark.req("CONF-10")
@pytest.mark.parametrize("policy", [p for p in POLICIES if POLICY_CONFIGS[p][1]])
def test_fuzzing_sends_invalid_configs_that_get_rejected(policy: str) -> None:
    stats = exercised(policy)
    assert stats.invalid_configs_sent > 0
    assert stats.configs_rejected > 0


@pytest.mark.req("CONF-10", "HEALTH-7", "WRR-6", "WRR-7")
@pytest.mark.parametrize("policy", ["round_robin", "weighted_round_robin"])
def test_fuzzing_sends_health_and_load_reports(policy: str) -> None:
    stats = exercised(policy)
    assert stats.health_sequences > 0
    assert stats.inputs["health_state"] > 0
    assert stats.inputs["oob_load_report"] > 0


@pytest.mark.req("CONF-10")
def test_the_summary_names_what_was_exercised() -> None:
    text = exercised("least_request_experimental").summary("least_request_experimental")
    assert text.startswith("fuzz: least_request_experimental: ")
    for phrase in ("subchannels created", "completed", "states reached", "accepted", "rejected"):
        assert phrase in text
