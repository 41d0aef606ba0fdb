"""The black-box check: the same scenarios on BalancedChannel and on grpcio's own policies.

``python -m refimpl.io.blackbox`` starts local backends on 127.0.0.1, runs every
scenario of :mod:`refimpl.io.scenarios` on both implementations, and prints the
results side by side as a Markdown table.  grpcio is judged only by what its
backends see: it exposes no balancer API to trace.  ``tests/io/test_blackbox.py``
asserts the same scenarios against the spec.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

import attrs

import refimpl.builtin  # noqa: F401  (registers the built-in policies)
from refimpl import registry
from refimpl.io import scenarios
from refimpl.io.backend import Backend
from spec.types import OrcaLoadReport

# Utilisations the backends report for the weighted_round_robin scenario (same qps).
WRR_UTILISATIONS = (0.2, 0.4, 0.8)
NATIVE_POLICIES = frozenset({"pick_first", "round_robin", "weighted_round_robin"})


@attrs.frozen
class Row:
    scenario: str
    expected: str  # what the spec says should be seen
    results: dict[str, str]  # implementation -> what was seen


def _backends(count: int) -> list[Backend]:
    return [Backend(chr(ord("a") + i)).start() for i in range(count)]


def _fmt(counts: dict[str, int] | dict[str, float]) -> str:
    parts = []
    for name in sorted(counts):
        value = counts[name]
        parts.append(f"{name}={value:.0%}" if isinstance(value, float) else f"{name}={value}")
    return " ".join(parts) or "-"


def _available(implementation: str, policy: str) -> bool:
    if implementation == "grpcio":
        return policy in NATIVE_POLICIES
    return registry.get(policy) is not None


Body = Callable[[scenarios.ChannelFactory, list[Backend]], str]


def rows(implementations: Sequence[str] = tuple(scenarios.CHANNELS)) -> list[Row]:
    """Run every scenario on every implementation (fresh backends each time)."""
    out: list[Row] = []

    def row(scenario: str, expected: str, policy: str, count: int, body: Body) -> None:
        results = {}
        for implementation in implementations:
            if not _available(implementation, policy):
                results[implementation] = "n/a (no such policy)"
                continue
            servers = _backends(count)
            try:
                results[implementation] = body(scenarios.CHANNELS[implementation], servers)
            finally:
                for server in servers:
                    server.stop()
        out.append(Row(scenario, expected, results))

    row(
        "round_robin: 300 RPCs over 3 backends",
        "100 each (RR-7)",
        "round_robin",
        3,
        lambda make, s: _fmt(
            scenarios.distribution(make, s, scenarios.service_config("round_robin")).counts
        ),
    )
    row(
        "pick_first: 300 RPCs over 3 backends",
        "all to a (PF-4, PF-19)",
        "pick_first",
        3,
        lambda make, s: _fmt(
            scenarios.distribution(make, s, scenarios.service_config("pick_first")).counts
        ),
    )

    def failover(policy: str) -> Body:
        def body(make: scenarios.ChannelFactory, s: list[Backend]) -> str:
            result = scenarios.failover(make, s, scenarios.service_config(policy))
            return " / ".join(
                _fmt(phase)
                for phase in (
                    result.initial,
                    result.first_stopped,
                    result.first_restarted_second_stopped,
                )
            )

        return body

    row(
        "pick_first failover: start / a stopped / a back, b stopped",
        "a / b / a (PF-20)",
        "pick_first",
        3,
        failover("pick_first"),
    )
    row(
        "round_robin failover: start / a stopped / a back, b stopped",
        "abc / bc / ac (RR-6, RR-7)",
        "round_robin",
        3,
        failover("round_robin"),
    )

    def health(policy: str) -> Body:
        def body(make: scenarios.ChannelFactory, s: list[Backend]) -> str:
            config = scenarios.service_config(policy, health_service="")
            timeout = 1.0 if policy == "pick_first" else scenarios.SETTLE_TIMEOUT
            result = scenarios.health_flip(make, s, config, settle_timeout=timeout)
            return f"{_fmt(result.while_not_serving)} / {_fmt(result.after_serving_again)}"

        return body

    row(
        "round_robin + health: a NOT_SERVING / SERVING again",
        "bc / abc (HEALTH-7, HEALTH-8)",
        "round_robin",
        3,
        health("round_robin"),
    )
    row(
        "pick_first + health: a NOT_SERVING / SERVING again",
        "a / a: top-level pick_first ignores health (HEALTH-3)",
        "pick_first",
        3,
        health("pick_first"),
    )

    def weighted(make: scenarios.ChannelFactory, s: list[Backend]) -> str:
        reports = [
            OrcaLoadReport(application_utilization=u, rps_fractional=100) for u in WRR_UTILISATIONS
        ]
        result = scenarios.weighted_split(make, s, reports)
        return f"{_fmt(result.observed)} (worst error {result.worst_error():.1%})"

    predicted = [1 / u for u in WRR_UTILISATIONS]
    expected = " ".join(
        f"{chr(ord('a') + i)}={w / sum(predicted):.0%}" for i, w in enumerate(predicted)
    )
    row(
        "weighted_round_robin: utilisation 0.2 / 0.4 / 0.8, per-call ORCA",
        f"{expected} (WRR-5, WRR-16)",
        "weighted_round_robin",
        3,
        weighted,
    )

    def slow(policy: str, config: dict[str, object]) -> Body:
        def body(make: scenarios.ChannelFactory, s: list[Backend]) -> str:
            share = scenarios.slow_backend_share(make, s, scenarios.service_config(policy, config))
            return f"slow a got {share:.0%}"

        return body

    row(
        "round_robin, 6 concurrent callers, a holds calls 0.2 s",
        "a gets 1/3 of picks (RR-7)",
        "round_robin",
        3,
        slow("round_robin", {}),
    )
    row(
        "least_request (choiceCount 2), same load",
        "a gets far less (LR-7, LR-8)",
        "least_request_experimental",
        3,
        slow("least_request_experimental", {"choiceCount": 2}),
    )
    return out


def render(table: Sequence[Row], stream: TextIO) -> None:
    implementations = list(table[0].results) if table else []
    header = ["scenario", "spec expects", *implementations]
    stream.write("| " + " | ".join(header) + " |\n")
    stream.write("|" + "---|" * len(header) + "\n")
    for r in table:
        cells = [r.scenario, r.expected, *(r.results[i] for i in implementations)]
        stream.write("| " + " | ".join(cells) + " |\n")


def main() -> int:
    os.environ.setdefault("GRPC_VERBOSITY", "ERROR")
    render(rows(), sys.stdout)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
