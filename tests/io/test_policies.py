"""The reference policies over BalancedChannel with real servers, their traces judged by the spec.

Each run records its trace; besides the assertions on traffic, the policy's own
monitor (spec/monitors) judges the whole real-time run, so a real network's
timing cannot hide a rule the policy breaks.
"""

from __future__ import annotations

import threading
from typing import Any

import grpc
import pytest

from refimpl import registry
from refimpl.io import scenarios
from refimpl.io.backend import WHOAMI, Backend
from refimpl.io.balanced_channel import BalancedChannel
from spec import events as ev
from spec.catalogue.pick_first import ReresolutionMode
from spec.monitors.pick_first import PickFirstMonitor
from spec.monitors.round_robin import RoundRobinMonitor
from spec.options import LostSubchannel, SubchannelCreation
from spec.trace import Monitor, judge
from spec.types import OrcaLoadReport
from tests.io.conftest import (
    RPC_TIMEOUT,
    MakeBackends,
    MakeChannel,
    assert_clean,
    eventually,
    wait_for_held_picks,
    wait_ready,
    who,
)

SHARED_RPCS = 150


def _require(policy: str) -> None:
    """A built-in policy that is missing fails the test: it never skips (issue 19)."""
    if registry.get(policy) is None:
        pytest.fail(f"the built-in policy {policy!r} is not registered (refimpl/builtin.py)")


def _judged(ch: BalancedChannel, monitor: Monitor) -> None:
    assert_clean(ch)
    assert judge(lambda: monitor, ch.trace) == []


@pytest.mark.req("RR-7", "RR-5", "RR-1")
def test_round_robin_spreads_evenly(backends: MakeBackends, channel: MakeChannel) -> None:
    servers = backends(3)
    ch = channel([b.address for b in servers], scenarios.service_config("round_robin"))
    wait_ready(ch, 3)
    counts = who(ch, 90)
    assert counts == {"a": 30, "b": 30, "c": 30}  # one each per round (RR-7)
    _judged(ch, RoundRobinMonitor())


@pytest.mark.req("PF-4", "PF-19", "PF-20", "PF-21")
def test_pick_first_sticks_fails_over_and_comes_back(
    backends: MakeBackends, channel: MakeChannel
) -> None:
    a, b, c = backends(3)
    ch = channel([a.address, b.address, c.address], scenarios.service_config("pick_first"))
    assert who(ch, 20) == {"a": 20}  # the first address, and only it (PF-4, PF-19)
    a.stop()
    assert eventually(lambda: who(ch, 3) == {"b": 3})  # the next one (PF-20, PF-21)
    assert who(ch, 20) == {"b": 20}
    a.start()
    assert who(ch, 10) == {"b": 10}  # pick_first stays where it is connected
    b.stop()
    assert eventually(lambda: who(ch, 3) == {"a": 3})  # and returns to the first address
    _judged(
        ch,
        PickFirstMonitor(
            ReresolutionMode.SPEC_TEXT,
            subchannel_creation=SubchannelCreation.LAZY,
            lost_subchannel=LostSubchannel.KEPT,
        ),
    )


@pytest.mark.req("HEALTH-7", "HEALTH-8", "HEALTH-4", "HC-2")
def test_round_robin_leaves_out_an_unhealthy_backend(
    backends: MakeBackends, channel: MakeChannel
) -> None:
    servers = backends(3)
    config = scenarios.service_config("round_robin", health_service="")
    ch = channel([s.address for s in servers], config)
    wait_ready(ch, 3)
    assert eventually(lambda: set(who(ch, 6)) == {"a", "b", "c"})
    created = len(ch.subchannels)
    servers[0].set_serving(False)
    assert eventually(lambda: "a" not in who(ch, 6))
    assert set(who(ch, 30)) == {"b", "c"}
    servers[0].set_serving(True)
    assert eventually(lambda: "a" in who(ch, 6))
    assert who(ch, 30) == {"a": 10, "b": 10, "c": 10}
    assert len(ch.subchannels) == created  # no connection churn (HEALTH-8)
    _judged(ch, RoundRobinMonitor(health_checking=True))


@pytest.mark.req("HEALTH-3")
def test_top_level_pick_first_does_not_health_check(
    backends: MakeBackends, channel: MakeChannel
) -> None:
    a, b = backends(2)
    config = scenarios.service_config("pick_first", health_service="")
    ch = channel([a.address, b.address], config)
    # The control: a channel that does watch health, to the same backends.
    control = channel(
        [a.address, b.address], scenarios.service_config("round_robin", health_service="")
    )
    assert who(ch, 4) == {"a": 4}
    wait_ready(control, 2)
    a.set_serving(False)
    # The event to wait for: the control has heard NOT_SERVING and left a out...
    assert eventually(lambda: "a" not in who(control, 4))
    assert who(ch, 10) == {"a": 10}  # ...while NOT_SERVING changes nothing for pick_first
    assert not any(isinstance(s.input, ev.HealthStateChange) for s in ch.trace)
    _judged(
        ch,
        PickFirstMonitor(
            ReresolutionMode.SPEC_TEXT,
            subchannel_creation=SubchannelCreation.LAZY,
            lost_subchannel=LostSubchannel.KEPT,
        ),
    )


@pytest.mark.parametrize("policy", ["pick_first", "round_robin"])
@pytest.mark.req("RPC-1", "RPC-7", "PF-20", "RR-6")
def test_no_wait_for_ready_rpc_is_lost_across_a_restart(
    backends: MakeBackends, channel: MakeChannel, policy: str
) -> None:
    (server,) = backends(1)
    ch = channel([server.address], scenarios.service_config(policy))
    assert who(ch, 2) == {"a": 2}
    server.stop()
    call = ch.unary_unary(WHOAMI)
    answers: list[bytes] = []
    failures: list[grpc.RpcError] = []

    def send() -> None:
        for _ in range(3):
            try:
                answers.append(call(b"", timeout=RPC_TIMEOUT, wait_for_ready=True))
            except grpc.RpcError as err:
                failures.append(err)

    start = len(ch.trace)
    senders = [threading.Thread(target=send) for _ in range(4)]
    for sender in senders:  # RPCs sent while the only backend is down are held...
        sender.start()
    wait_for_held_picks(ch, 4, start)
    assert failures == []
    server.start()  # ...and all complete once it is back on the same port
    for sender in senders:
        sender.join(RPC_TIMEOUT + 1)
    assert failures == []
    assert answers == [b"a"] * 12
    monitor = (
        PickFirstMonitor(
            ReresolutionMode.SPEC_TEXT,
            subchannel_creation=SubchannelCreation.LAZY,
            lost_subchannel=LostSubchannel.KEPT,
        )
        if policy == "pick_first"
        else RoundRobinMonitor()
    )
    _judged(ch, monitor)


@pytest.mark.req("WRR-5", "WRR-6", "WRR-16")
def test_weighted_round_robin_shifts_traffic_to_the_less_loaded(backends: MakeBackends) -> None:
    _require("weighted_round_robin")
    servers = backends(3)
    reports = [
        OrcaLoadReport(application_utilization=u, rps_fractional=100) for u in (0.2, 0.4, 0.8)
    ]
    result = scenarios.weighted_split(scenarios.balanced_channel, servers, reports)
    assert result.worst_error() < 0.08, result
    assert result.observed["a"] > result.observed["b"] > result.observed["c"]


@pytest.mark.req("LR-7", "LR-8")
def test_least_request_avoids_a_backend_with_slow_calls(backends: MakeBackends) -> None:
    _require("least_request_experimental")
    servers = backends(3)
    config = scenarios.service_config("least_request_experimental", {"choiceCount": 2})
    slow = _slow_backend_share(servers, config)
    even = _slow_backend_share(servers, scenarios.service_config("round_robin"))
    # Measured about 14% for least_request against 33% for round_robin; the bounds are loose.
    assert even > 0.25, even
    assert slow < 0.24, slow
    assert slow < even - 0.08, (slow, even)


def _slow_backend_share(servers: list[Backend], config: dict[str, Any]) -> float:
    """The share of :data:`SHARED_RPCS` concurrent RPCs that went to a slow backend.

    A fixed number of RPCs, not a time window (issue 19): the share does not depend on
    how fast the machine is, only on a's delay being much longer than an RPC to b or c.
    The duration given to concurrent_split only bounds the loop.
    """
    slow = servers[0]
    ch = scenarios.balanced_channel([s.address for s in servers], config)
    try:
        names = {s.name for s in servers}
        assert scenarios.settle(ch, lambda c: set(c) == names, 3 * len(servers))
        slow.set_delay(0.2)
        counts = scenarios.concurrent_split(ch, 6, duration=60.0, max_rpcs=SHARED_RPCS)
        assert sum(counts.values()) >= SHARED_RPCS
        return scenarios.share(counts, slow.name)
    finally:
        slow.set_delay(0.0)
        ch.close()
