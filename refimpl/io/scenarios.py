"""Observable load-balancing scenarios, run against any ``grpc.Channel``.

The same scenario runs on a :class:`~refimpl.io.balanced_channel.BalancedChannel` (one of
this project's policies) and on a plain grpcio channel whose own built-in policy
is chosen by service config (:func:`native_channel`): grpcio has no custom
policies, so the only way to check its built-ins against the spec is from the
outside, by what the backends see.  Each scenario returns plain numbers (which
backend answered how often) so a test can judge them and a report can print
them side by side.

Every loop here is bounded by a count and every RPC by a timeout.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

import attrs
import grpc

from refimpl.io.backend import WHOAMI, Backend
from refimpl.io.balanced_channel import BalancedChannel
from refimpl.io.subchannel import SubchannelOptions
from spec.types import OrcaLoadReport

RPC_TIMEOUT = 5.0
SETTLE_TIMEOUT = 5.0
# Waiting for every backend to answer: pick_first never spreads, so this wait is short.
WARM_UP_TIMEOUT = 0.5
POLL_SECONDS = 0.02

# grpcio's own reconnect backoff, shortened like the BalancedChannel's in tests.
FAST = SubchannelOptions(reconnect_backoff_initial=0.05, reconnect_backoff_max=0.2)

ChannelFactory = Callable[[Sequence[str], dict[str, Any]], grpc.Channel]


def service_config(
    policy: str, config: dict[str, Any] | None = None, health_service: str | None = None
) -> dict[str, Any]:
    """A service config selecting ``policy`` (with client-side health checking if named)."""
    document: dict[str, Any] = {"loadBalancingConfig": [{policy: config or {}}]}
    if health_service is not None:
        document["healthCheckConfig"] = {"serviceName": health_service}
    return document


def native_channel(
    addresses: Sequence[str], config: dict[str, Any], options: SubchannelOptions = FAST
) -> grpc.Channel:
    """A grpcio channel to ``addresses`` whose built-in policy ``config`` selects."""
    target = "ipv4:" + ",".join(addresses)
    channel_options = [
        ("grpc.service_config", json.dumps(config)),
        *options.channel_options(),
    ]
    return grpc.insecure_channel(target, options=channel_options)


def balanced_channel(
    addresses: Sequence[str], config: dict[str, Any], options: SubchannelOptions = FAST
) -> grpc.Channel:
    """A :class:`BalancedChannel` running the reference policy ``config`` selects."""
    return BalancedChannel(addresses, config, options=options, seed=1)


CHANNELS: dict[str, ChannelFactory] = {
    "BalancedChannel": balanced_channel,
    "grpcio": native_channel,
}


def split(channel: grpc.Channel, count: int, *, wait_for_ready: bool = True) -> Counter[str]:
    """Send ``count`` Whoami RPCs one after another; count answers per backend name."""
    call: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(WHOAMI)
    answers: Counter[str] = Counter()
    for _ in range(count):
        answers[call(b"", timeout=RPC_TIMEOUT, wait_for_ready=wait_for_ready).decode()] += 1
    return answers


def settle(
    channel: grpc.Channel,
    check: Callable[[Counter[str]], bool],
    probe: int = 6,
    timeout: float = SETTLE_TIMEOUT,
) -> bool:
    """Send small batches until ``check`` accepts one (a bounded wait for state to settle)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check(split(channel, probe)):
            return True
        time.sleep(POLL_SECONDS)
    return False


def share(counts: Counter[str], name: str) -> float:
    total = sum(counts.values())
    return counts[name] / total if total else 0.0


# --- scenarios ---


@attrs.frozen
class Distribution:
    """How ``count`` sequential RPCs spread over the backends."""

    counts: dict[str, int]
    total: int

    def spread(self) -> float:
        """Largest minus smallest share: 0 for a perfectly even split."""
        shares = [c / self.total for c in self.counts.values()]
        return max(shares) - min(shares) if shares else 0.0


def distribution(
    make: ChannelFactory, backends: Sequence[Backend], config: dict[str, Any], count: int = 300
) -> Distribution:
    """Round robin's promise: every backend gets the same share."""
    channel = make([b.address for b in backends], config)
    try:
        names = {b.name for b in backends}
        settle(channel, lambda c: set(c) == names, 3 * len(backends), WARM_UP_TIMEOUT)
        counts = split(channel, count)
        return Distribution({b.name: counts[b.name] for b in backends}, count)
    finally:
        channel.close()


@attrs.frozen
class Failover:
    """Where traffic went in each phase of a stop / restart sequence."""

    initial: dict[str, int]
    first_stopped: dict[str, int]
    first_restarted_second_stopped: dict[str, int]


def failover(
    make: ChannelFactory, backends: Sequence[Backend], config: dict[str, Any], count: int = 20
) -> Failover:
    """pick_first's promise: stick to one backend, move on when it goes, come back to it."""
    first, second = backends[0], backends[1]
    channel = make([b.address for b in backends], config)
    try:
        initial = split(channel, count)
        first.stop()
        settle(channel, lambda c: first.name not in c)
        after_stop = split(channel, count)
        first.start()
        second.stop()
        settle(channel, lambda c: second.name not in c and first.name in c)
        after_restart = split(channel, count)
        second.start()
        return Failover(dict(initial), dict(after_stop), dict(after_restart))
    finally:
        channel.close()


@attrs.frozen
class HealthFlip:
    """Traffic while one backend reports NOT_SERVING, and after it is SERVING again."""

    while_not_serving: dict[str, int]
    after_serving_again: dict[str, int]
    settled_out: bool
    settled_back: bool


def health_flip(
    make: ChannelFactory,
    backends: Sequence[Backend],
    config: dict[str, Any],
    count: int = 30,
    settle_timeout: float = SETTLE_TIMEOUT,
) -> HealthFlip:
    """A17's promise: an unhealthy backend gets no picks, and gets them back when healthy."""
    flipped = backends[0]
    channel = make([b.address for b in backends], config)
    try:
        names = {b.name for b in backends}
        settle(channel, lambda c: set(c) == names, 3 * len(backends), WARM_UP_TIMEOUT)
        flipped.set_serving(False)
        out = settle(channel, lambda c: flipped.name not in c, timeout=settle_timeout)
        during = split(channel, count)
        flipped.set_serving(True)
        back = settle(channel, lambda c: flipped.name in c, 3 * len(backends), settle_timeout)
        after = split(channel, count)
        return HealthFlip(dict(during), dict(after), out, back)
    finally:
        flipped.set_serving(True)
        channel.close()


def wrr_weight(report: OrcaLoadReport, error_utilization_penalty: float = 1.0) -> float:
    """gRFC A58's weight for one report: qps / (utilisation + eps / qps * penalty).

    Utilisation is application_utilization, or cpu_utilization when that is 0; a
    report with no utilisation or no qps gives weight 0 (grpc-go
    balancer/weightedroundrobin/balancer.go, updateWeight).
    """
    utilization = report.application_utilization or report.cpu_utilization
    qps = report.rps_fractional
    if utilization <= 0 or qps <= 0:
        return 0.0
    return qps / (utilization + report.eps / qps * error_utilization_penalty)


@attrs.frozen
class WeightedSplit:
    """Observed traffic shares next to the shares the A58 weight formula predicts."""

    observed: dict[str, float]
    predicted: dict[str, float]

    def worst_error(self) -> float:
        return max(abs(self.observed[n] - self.predicted[n]) for n in self.predicted)


# Fast weight updates and no blackout, so weights act within a fraction of a second.
WRR_CONFIG = {"blackoutPeriod": "0s", "weightUpdatePeriod": "0.1s"}


def weighted_split(
    make: ChannelFactory,
    backends: Sequence[Backend],
    reports: Sequence[OrcaLoadReport],
    count: int = 600,
    config: dict[str, Any] | None = None,
) -> WeightedSplit:
    """Backends report ``reports`` per call; compare the split with the formula's."""
    for backend, report in zip(backends, reports, strict=True):
        backend.set_load(report)
    weights = {b.name: wrr_weight(r) for b, r in zip(backends, reports, strict=True)}
    total_weight = sum(weights.values())
    predicted = {name: w / total_weight for name, w in weights.items()}
    wrr_config = service_config("weighted_round_robin", config or WRR_CONFIG)
    channel = make([b.address for b in backends], wrr_config)
    try:
        split(channel, 100)  # every backend reports at least once
        time.sleep(0.35)  # a few weight updates (weightUpdatePeriod 0.1 s)
        split(channel, 100)
        time.sleep(0.25)
        counts = split(channel, count)
        observed = {b.name: counts[b.name] / count for b in backends}
        return WeightedSplit(observed, predicted)
    finally:
        for backend in backends:
            backend.set_load(None)
        channel.close()


def concurrent_split(
    channel: grpc.Channel, workers: int, duration: float, max_rpcs: int = 2000
) -> Counter[str]:
    """``workers`` threads send Whoami RPCs for ``duration`` seconds (at most ``max_rpcs``)."""
    call: grpc.UnaryUnaryMultiCallable[bytes, bytes] = channel.unary_unary(WHOAMI)
    counts: Counter[str] = Counter()
    lock = threading.Lock()
    stop_at = time.monotonic() + duration

    def work() -> None:
        while time.monotonic() < stop_at:
            with lock:
                if sum(counts.values()) >= max_rpcs:
                    return
            name = call(b"", timeout=RPC_TIMEOUT, wait_for_ready=True).decode()
            with lock:
                counts[name] += 1

    threads = [threading.Thread(target=work) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(duration + RPC_TIMEOUT)
    return counts


def slow_backend_share(
    make: ChannelFactory,
    backends: Sequence[Backend],
    config: dict[str, Any],
    delay: float = 0.2,
    workers: int = 6,
    duration: float = 1.5,
) -> float:
    """The share of concurrent RPCs that went to a backend holding every call ``delay`` s."""
    slow = backends[0]
    channel = make([b.address for b in backends], config)
    try:
        names = {b.name for b in backends}
        settle(channel, lambda c: set(c) == names, 3 * len(backends), WARM_UP_TIMEOUT)
        slow.set_delay(delay)
        return share(concurrent_split(channel, workers, duration), slow.name)
    finally:
        slow.set_delay(0.0)
        channel.close()
