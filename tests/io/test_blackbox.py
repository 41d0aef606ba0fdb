"""The black-box check: grpcio's own policies and BalancedChannel, judged by what backends see.

grpcio runs pick_first, round_robin and weighted_round_robin itself when a
service config selects them; it exposes no balancer API, so these tests judge
it from the outside, by the traffic each backend gets, with the same scenarios
(refimpl/io/scenarios.py) as the reference policies.  ``python -m refimpl.demo
--compare`` prints the same scenarios as a side-by-side table.
"""

from __future__ import annotations

import pytest

from refimpl import registry
from refimpl.io import scenarios
from spec.types import OrcaLoadReport
from tests.io.conftest import MakeBackends

IMPLEMENTATIONS = sorted(scenarios.CHANNELS)


def _make(implementation: str, policy: str) -> scenarios.ChannelFactory:
    if implementation == "BalancedChannel" and registry.get(policy) is None:
        # A built-in policy that went missing fails; it never skips (issue 19).
        pytest.fail(f"the built-in policy {policy!r} is not registered (refimpl/builtin.py)")
    return scenarios.CHANNELS[implementation]


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.req("RR-7")
def test_round_robin_spreads_evenly(backends: MakeBackends, implementation: str) -> None:
    make = _make(implementation, "round_robin")
    result = scenarios.distribution(make, backends(3), scenarios.service_config("round_robin"))
    assert all(abs(count - 100) <= 10 for count in result.counts.values()), result


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.req("PF-4", "PF-19")
def test_pick_first_sends_everything_to_the_first_address(
    backends: MakeBackends, implementation: str
) -> None:
    make = _make(implementation, "pick_first")
    result = scenarios.distribution(make, backends(3), scenarios.service_config("pick_first"))
    assert result.counts == {"a": 300, "b": 0, "c": 0}


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.req("PF-20", "PF-21")
def test_pick_first_fails_over_and_returns(backends: MakeBackends, implementation: str) -> None:
    make = _make(implementation, "pick_first")
    result = scenarios.failover(make, backends(3), scenarios.service_config("pick_first"))
    assert result.initial == {"a": 20}
    assert result.first_stopped == {"b": 20}
    assert result.first_restarted_second_stopped == {"a": 20}


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.req("RR-6", "RR-7")
def test_round_robin_fails_over(backends: MakeBackends, implementation: str) -> None:
    make = _make(implementation, "round_robin")
    result = scenarios.failover(make, backends(3), scenarios.service_config("round_robin"))
    assert set(result.first_stopped) == {"b", "c"}
    assert set(result.first_restarted_second_stopped) == {"a", "c"}


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.req("HEALTH-7", "HEALTH-8", "HEALTH-1")
def test_round_robin_health_takes_a_backend_out_and_back(
    backends: MakeBackends, implementation: str
) -> None:
    make = _make(implementation, "round_robin")
    config = scenarios.service_config("round_robin", health_service="")
    result = scenarios.health_flip(make, backends(3), config)
    assert result.settled_out
    assert set(result.while_not_serving) == {"b", "c"}
    assert result.settled_back
    assert set(result.after_serving_again) == {"a", "b", "c"}


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.req("HEALTH-3")
def test_top_level_pick_first_ignores_health(backends: MakeBackends, implementation: str) -> None:
    make = _make(implementation, "pick_first")
    _make(implementation, "round_robin")
    servers = backends(2)
    addresses = [s.address for s in servers]
    pick_first = make(addresses, scenarios.service_config("pick_first", health_service=""))
    # The control: round_robin with health checking, to the same backends, same stack.
    control = make(addresses, scenarios.service_config("round_robin", health_service=""))
    try:
        assert scenarios.split(pick_first, 10) == {"a": 10}
        assert scenarios.settle(control, lambda c: set(c) == {"a", "b"})
        servers[0].set_serving(False)
        # Not "nothing happened in 0.5 s": wait until a channel that watches health has
        # heard NOT_SERVING; pick_first, which must not watch, still sends every RPC to a.
        assert scenarios.settle(control, lambda c: "a" not in c)
        assert scenarios.split(pick_first, 30) == {"a": 30}
    finally:
        servers[0].set_serving(True)
        pick_first.close()
        control.close()


def _report(
    util: float = 0.0, *, cpu: float = 0.0, qps: float = 100, eps: float = 0.0
) -> OrcaLoadReport:
    return OrcaLoadReport(
        application_utilization=util, cpu_utilization=cpu, rps_fractional=qps, eps=eps
    )


WRR_CASES: dict[str, list[OrcaLoadReport]] = {
    # name: the three backends' per-call reports; qps 0 makes a report count for nothing
    "utilisation": [_report(0.2), _report(0.4), _report(0.8)],
    "eps-penalty": [_report(0.5), _report(0.5, eps=50), _report(0.5, eps=150)],
    "cpu-fallback": [_report(cpu=0.2), _report(0.4, cpu=0.9), _report(cpu=0.8)],
    "unknown-weight": [_report(0.2), _report(0.4), _report(0.8, qps=0)],
}


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.parametrize("case", sorted(WRR_CASES))
@pytest.mark.req("WRR-5", "WRR-6", "WRR-14", "WRR-16")
def test_weighted_round_robin_split_follows_the_weight_formula(
    backends: MakeBackends, implementation: str, case: str
) -> None:
    make = _make(implementation, "weighted_round_robin")
    reports = WRR_CASES[case]
    result = scenarios.weighted_split(make, backends(3), reports)
    predicted = dict(result.predicted)
    weights = [scenarios.wrr_weight(r) for r in reports]
    if 0.0 in weights:  # WRR-14: an unknown weight counts as the mean of the known ones
        nonzero = [w for w in weights if w > 0]
        filled = [w or sum(nonzero) / len(nonzero) for w in weights]
        predicted = {name: w / sum(filled) for name, w in zip("abc", filled, strict=True)}
    worst = max(abs(result.observed[n] - predicted[n]) for n in predicted)
    assert worst < 0.06, (result.observed, predicted)


@pytest.mark.parametrize("implementation", IMPLEMENTATIONS)
@pytest.mark.req("WRR-8")
def test_weighted_round_robin_waits_out_the_blackout_period(
    backends: MakeBackends, implementation: str
) -> None:
    make = _make(implementation, "weighted_round_robin")
    reports = [_report(0.2), _report(0.4), _report(0.8)]
    config = {"weightUpdatePeriod": "0.1s"}  # blackoutPeriod keeps its default, 10 s
    result = scenarios.weighted_split(make, backends(3), reports, config=config)
    assert all(abs(share - 1 / 3) < 0.05 for share in result.observed.values()), result
