"""The benchmark suite as a pyperf script: ``python -m bench.suite -o raw.json``.

``make bench`` runs it through ``python -m bench run``, which then summarises
the raw results (``bench/report.py``).  pyperf runs each benchmark in several
fresh worker processes (each with its own randomised hash seed), calibrates the
loop count so that one value lasts at least ``min_time``, throws away a warm-up
value per process and keeps every other value; the report takes medians and
quartiles over all of them.  Any pyperf option works here too (``--fast``,
``--rigorous``, ``-b NAME`` to run a subset, ``--processes``...).

Benchmark names are ``kind/subject/size``; the report relies on them.
"""

from __future__ import annotations

import argparse
import functools
from collections.abc import Callable, Sequence

import pyperf  # type: ignore[import-untyped]

from bench import workloads as w

PICK_SIZES = (3, 10, 100, 10_000)
SCALE_SIZES = (100, 1_000, 10_000)
CONCURRENT_SIZE = 100
# One picker without a lock and one with a lock per endpoint.
THREADED = ("round_robin", "least_request_experimental")
CHANNEL_CLIENTS = ("grpcio", "balanced", "rotation")  # bench.real_rpcs.CLIENTS

# 3 processes (pyperf's minimum for three hash seeds) x (1 warm-up + 4 values): 12
# values for a median and quartiles, and the suite stays under five minutes on two
# busy cores (each worker repeats its set-up, seconds at 10,000 endpoints).
PROCESSES = 3
VALUES = 4
MIN_TIME = 0.05  # seconds per value: ~500k picks, or one update at 10,000 endpoints


def register(runner: pyperf.Runner, only: Sequence[str] = ()) -> None:
    """Every benchmark, in a fixed order (pyperf workers find theirs by position).

    ``only``: keep the benchmarks whose name starts with one of these prefixes.
    """

    def bench(name: str, time_func: Callable[[int], float], inner_loops: int = 1) -> None:
        if not only or name.startswith(tuple(only)):
            runner.bench_time_func(name, time_func, inner_loops=inner_loops)

    policies = w.available_policies()
    bench("floor/empty_method_call", w.time_floor, w.UNROLL)
    for policy in policies:
        for n in PICK_SIZES:
            bench(f"pick/{policy.name}/{n}", functools.partial(w.time_pick, policy, n), w.UNROLL)
    for policy in policies:
        if not policy.per_endpoint:
            continue  # pick_first has one READY subchannel: nothing to rebuild or scale
        for n in SCALE_SIZES:
            # Two health changes per loop, one rebuild each.
            bench(f"rebuild/{policy.name}/{n}", functools.partial(w.time_rebuild, policy, n), 2)
        if policy.name == "weighted_round_robin":
            for n in SCALE_SIZES:
                bench(
                    f"scheduler/{policy.name}/{n}", functools.partial(w.time_scheduler, policy, n)
                )
        for n in SCALE_SIZES:
            bench(f"update_new/{policy.name}/{n}", functools.partial(w.time_update_new, policy, n))
        for n in SCALE_SIZES:
            bench(
                f"update_same/{policy.name}/{n}", functools.partial(w.time_update_same, policy, n)
            )
        if policy.name == "round_robin":
            # The same first update at the largest size with the garbage collector running.
            n = SCALE_SIZES[-1]
            bench(
                f"update_new_gc/{policy.name}/{n}",
                functools.partial(w.time_update_new, policy, n, collector=True),
            )
    for policy in policies:
        if policy.name not in THREADED:
            continue
        for threads in (1, w.THREADS):
            bench(
                f"threads/{policy.name}/{threads}",
                functools.partial(w.time_threads, policy, CONCURRENT_SIZE, threads),
                threads * w.UNROLL,
            )
    # Per case: the case files are counted here, the corpus is loaded (~0.3 s) only by
    # the workers that run these benchmarks.
    cases = w.CORPUS_CASES
    bench("corpus/in_process", w.time_corpus_in_process, cases)
    bench("corpus/subprocess", w.time_corpus_subprocess, cases)
    bench("corpus/subprocess_started", w.time_corpus_subprocess_started, cases)
    # Seconds per value, so only when asked for (--only explore/): make bench stays short.
    if any(prefix.startswith("explore") for prefix in only):
        for subject in w.EXPLORE_BOUNDS:
            for way in ("replay", "fork"):
                run = functools.partial(w.time_explore, subject, way == "fork")
                bench(f"explore/{subject}/{way}", run)
    bench("channel/grpcio/round_robin", functools.partial(_channel, "time_unary", "grpcio"))
    for client in CHANNEL_CLIENTS[1:]:
        bench(
            f"channel_vs_grpcio/{client}/round_robin",
            functools.partial(_channel, "time_paired_ratio", client),
        )


def _channel(function: str, client: str, loops: int) -> float:
    # Imported here: grpc takes a tenth of a second to import, in every worker otherwise.
    from bench import real_rpcs

    time_function: Callable[[str, int], float] = getattr(real_rpcs, function)
    return time_function(client, loops)


def _pass_only(cmd: list[str], args: argparse.Namespace) -> None:
    for prefix in args.only:
        cmd.extend(("--only", prefix))


def main() -> None:
    runner = pyperf.Runner(
        processes=PROCESSES,
        values=VALUES,
        min_time=MIN_TIME,
        program_args=("-m", "bench.suite"),
        add_cmdline_args=_pass_only,
    )
    runner.argparser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PREFIX",
        help="run only the benchmarks whose name starts with PREFIX (repeatable)",
    )
    args = runner.parse_args()
    runner.metadata["description"] = "grpc-lb-reference: pick, rebuild, update, corpus"
    register(runner, args.only)


if __name__ == "__main__":
    main()
