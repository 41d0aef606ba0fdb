"""Demo: three local servers, and how each reference policy splits traffic between them.

    python -m refimpl.demo            # BalancedChannel, every registered policy
    python -m refimpl.demo --compare  # the black-box table: BalancedChannel beside grpcio

Servers listen on 127.0.0.1 only and are stopped before the demo exits.  For
weighted_round_robin the servers report per-call load (utilisation 0.2, 0.4,
0.8); for least_request_experimental server a holds every call for 0.2 s while
six callers send concurrently.  Needs the ``io`` extra.
"""

from __future__ import annotations

import os
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from typing import TextIO

# grpc's C core logs connection events at INFO; read before grpc is imported.
os.environ.setdefault("GRPC_VERBOSITY", "ERROR")

from refimpl import registry
from refimpl.io import blackbox, scenarios
from refimpl.io.backend import Backend
from spec.types import OrcaLoadReport

RPCS = 300

Run = Callable[[list[Backend]], Counter[str]]


def _sequential(policy: str, config: dict[str, object] | None = None) -> Run:
    def run(servers: list[Backend]) -> Counter[str]:
        addresses = [s.address for s in servers]
        channel = scenarios.balanced_channel(addresses, scenarios.service_config(policy, config))
        try:
            names = {s.name for s in servers}
            scenarios.settle(channel, lambda c: set(c) == names, 9, scenarios.WARM_UP_TIMEOUT)
            return scenarios.split(channel, RPCS)
        finally:
            channel.close()

    return run


def _weighted(servers: list[Backend]) -> Counter[str]:
    reports = [
        OrcaLoadReport(application_utilization=u, rps_fractional=100)
        for u in blackbox.WRR_UTILISATIONS
    ]
    result = scenarios.weighted_split(scenarios.balanced_channel, servers, reports, count=RPCS)
    return Counter({name: round(share * RPCS) for name, share in result.observed.items()})


def _least_request(servers: list[Backend]) -> Counter[str]:
    config = scenarios.service_config("least_request_experimental", {"choiceCount": 2})
    channel = scenarios.balanced_channel([s.address for s in servers], config)
    try:
        servers[0].set_delay(0.2)
        return scenarios.concurrent_split(channel, workers=6, duration=1.5, max_rpcs=RPCS)
    finally:
        servers[0].set_delay(0.0)
        channel.close()


POLICIES: Sequence[tuple[str, str, Run]] = (
    ("pick_first", "first reachable address only", _sequential("pick_first")),
    ("round_robin", "one each, in turn", _sequential("round_robin")),
    ("weighted_round_robin", "a, b, c report utilisation 0.2 / 0.4 / 0.8", _weighted),
    ("least_request_experimental", "a is slow (0.2 s per call)", _least_request),
)


def traffic_table(stream: TextIO) -> None:
    """Start three servers, run each registered policy, print the split as a table."""
    servers = [Backend(name).start() for name in "abc"]
    try:
        stream.write("Servers: " + ", ".join(f"{s.name}={s.address}" for s in servers) + "\n\n")
        stream.write(f"| policy | setting | {' | '.join(s.name for s in servers)} | total |\n")
        stream.write("|---|---|" + "---|" * len(servers) + "---|\n")
        for name, setting, run in POLICIES:
            if registry.get(name) is None:
                cells = ["-"] * len(servers) + ["not registered"]
            else:
                counts = run(servers)
                total = sum(counts.values())
                cells = [f"{counts[s.name]} ({counts[s.name] / total:.0%})" for s in servers]
                cells.append(str(total))
            stream.write(f"| {name} | {setting} | " + " | ".join(cells) + " |\n")
    finally:
        for server in servers:
            server.stop()


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--compare"]:
        blackbox.render(blackbox.rows(), sys.stdout)
    elif not args:
        traffic_table(sys.stdout)
    else:
        sys.stderr.write("usage: python -m refimpl.demo [--compare]\n")
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
