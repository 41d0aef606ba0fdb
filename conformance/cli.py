"""The command line: ``python -m conformance list | run | explain | fuzz | explore``.

Exit status: 0 when every result is expected, 1 when any is unexpected (CONF-6),
2 when the cases, the expectations file or the command line are wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from conformance.cases import CASES_DIR, Capability, Case, load_cases
from conformance.errors import ConformanceError
from conformance.results import Expectations, load_expectations
from conformance.runner import DEFAULT_STEP_TIMEOUT, run_cases
from conformance.transport import SubprocessTransport, Transport


def _add_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--cases", type=Path, default=CASES_DIR, help="the case directory")
    parser.add_argument(
        "--id", action="append", default=[], metavar="PREFIX", help="case IDs starting with PREFIX"
    )
    parser.add_argument("--area", action="append", default=[], help="cases of this area")
    parser.add_argument("--policy", action="append", default=[], help="cases of this policy")
    parser.add_argument(
        "--capability",
        action="append",
        default=[],
        choices=[c.value for c in Capability],
        help="cases that need this capability",
    )


def _add_adapter(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument(
        "--adapter", metavar="COMMAND", help="start the adapter with COMMAND (split like a shell)"
    )
    group.add_argument(
        "--in-process", action="store_true", help="the reference implementation, in this process"
    )
    parser.add_argument(
        "--load",
        action="append",
        default=[],
        metavar="MODULE",
        help="with --in-process: import MODULE first (it registers policies)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_STEP_TIMEOUT,
        help=f"seconds an adapter may take per step (default {DEFAULT_STEP_TIMEOUT:g})",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conformance",
        description="The gRPC load-balancing conformance suite (adapter protocol v1).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="list the cases")
    _add_filters(listing)
    run = sub.add_parser("run", help="run the cases against an adapter")
    _add_filters(run)
    _add_adapter(run)
    run.add_argument("--json", type=Path, metavar="FILE", help="write the JSON report to FILE")
    run.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML to FILE")
    run.add_argument(
        "--expectations", type=Path, metavar="FILE", help="known failures (JSON, see PROTOCOL.md)"
    )
    run.add_argument("-v", "--verbose", action="store_true", help="also show why cases skipped")
    explain = sub.add_parser("explain", help="narrate a case step by step")
    explain.add_argument("case", help="the case ID")
    explain.add_argument("--cases", type=Path, default=CASES_DIR, help="the case directory")
    fuzz = sub.add_parser("fuzz", help="generate input sequences and let the monitors judge")
    _add_adapter(fuzz)
    fuzz.add_argument("--policy", required=True, help="the policy to fuzz")
    fuzz.add_argument("--examples", type=int, default=200, help="how many sequences to try")
    fuzz.add_argument("--steps", type=int, default=30, help="at most this many inputs each")
    fuzz.add_argument("--seed", type=int, default=0, help="the generator's seed")
    fuzz.add_argument(
        "--out", type=Path, default=CASES_DIR / "fuzz", help="where a failing case is written"
    )
    _add_explore(sub)
    return parser


# --- explore (issue 18): the logic is in conformance/explore.py ---


def _add_explore(sub: Any) -> None:
    explore = sub.add_parser(
        "explore", help="every legal input sequence up to a depth, breadth-first (a bounded proof)"
    )
    explore.add_argument("--policy", help="the policy to explore")
    explore.add_argument("--adapter", metavar="COMMAND", help="start the adapter with COMMAND")
    explore.add_argument("--in-process", action="store_true", help="the reference, in-process")
    explore.add_argument("--load", action="append", default=[], metavar="MODULE")
    explore.add_argument("--timeout", type=float, default=DEFAULT_STEP_TIMEOUT)
    explore.add_argument("--endpoints", type=int, default=3, help="addresses in the alphabet")
    explore.add_argument("--depth", type=int, help="explore every sequence of this many inputs")
    explore.add_argument("--jobs", type=int, default=1, help="worker processes (local cores)")
    explore.add_argument("--shard", metavar="I/N", help="explore the I-th of N parts")
    explore.add_argument("--out", type=Path, metavar="DIR", help="write results (and a case)")
    explore.add_argument("--health-checking", action="store_true", help="health_state inputs")
    explore.add_argument("--seed", type=int, default=0, help="the channel's seed")
    explore.add_argument("--no-coverage", action="store_true", help="skip requirement coverage")
    explore.add_argument("--merge", nargs="+", metavar="FILE", help="merge shard results")


def _explore(args: argparse.Namespace) -> int:
    from conformance.explore import command

    return command(args)


def select(cases: Sequence[Case], args: argparse.Namespace) -> list[Case]:
    """Filters: OR within one option, AND across options."""
    chosen = []
    for case in cases:
        if args.id and not any(case.id.startswith(p) for p in args.id):
            continue
        if args.area and case.area not in args.area:
            continue
        if args.policy and case.policy not in args.policy:
            continue
        if args.capability and not {c.value for c in case.capabilities} & set(args.capability):
            continue
        chosen.append(case)
    return chosen


def connector(args: argparse.Namespace) -> Callable[[], Transport]:
    if args.in_process:
        from conformance.adapters.inprocess import refimpl_transport

        return lambda: refimpl_transport(args.load)
    command: str = args.adapter
    return lambda: SubprocessTransport(command)


def _run(args: argparse.Namespace) -> int:
    from conformance.report import Progress, render_terminal, to_json, to_junit

    all_cases = load_cases(args.cases)
    expectations = Expectations()
    if args.expectations is not None:
        expectations = load_expectations(args.expectations)
        expectations.check_cases(all_cases)
    cases = select(all_cases, args)
    progress = Progress(sys.stderr)
    started = time.monotonic()
    results, hello = run_cases(cases, connector(args), step_timeout=args.timeout, progress=progress)
    progress.clear()
    results = expectations.apply(results)
    seconds = time.monotonic() - started
    sys.stdout.write(render_terminal(results, hello, seconds, verbose=args.verbose))
    if args.json is not None:
        args.json.write_text(json.dumps(to_json(results, hello, seconds), indent=2) + "\n")
    if args.junit is not None:
        args.junit.write_text(to_junit(results, seconds), encoding="utf-8")
    return 1 if any(r.unexpected for r in results) else 0


def _list(args: argparse.Namespace) -> int:
    cases = select(load_cases(args.cases), args)
    width = max((len(c.id) for c in cases), default=10)
    for case in cases:
        caps = ",".join(sorted(c.value for c in case.capabilities))
        extra = f"  [{caps}]" if caps else ""
        print(f"{case.id:<{width}}  {case.policy:<14} {case.title}{extra}")
    print(f"{len(cases)} cases")
    return 0


def _explain(args: argparse.Namespace) -> int:
    from conformance.explain import explain

    cases = {c.id: c for c in load_cases(args.cases)}
    case = cases.get(args.case)
    if case is None:
        near = sorted(i for i in cases if i.startswith(args.case.split("-")[0]))
        hint = f"; cases with that prefix: {', '.join(near)}" if near else ""
        print(f"no case {args.case!r}{hint}", file=sys.stderr)
        return 2
    sys.stdout.write(explain(case))
    return 0


def _fuzz(args: argparse.Namespace) -> int:
    from conformance.fuzz import fuzz

    found = fuzz(
        connector(args),
        args.policy,
        examples=args.examples,
        max_steps=args.steps,
        seed=args.seed,
        step_timeout=args.timeout,
    )
    if found is None:
        print(f"fuzz: {args.examples} sequences against {args.policy}: no violation found")
        return 0
    path = found.write(args.out)
    if found.shrunk:
        print(f"fuzz: found a failure, shrunk to {len(found.steps)} steps: {found.message}")
    else:
        print(f"fuzz: found a failure in {len(found.steps)} steps: {found.message}")
        print(f"fuzz: {found.note}")
    print(f"fuzz: wrote {path}")
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    commands = {"list": _list, "run": _run, "explain": _explain, "fuzz": _fuzz}
    commands["explore"] = _explore
    try:
        return commands[args.command](args)
    except ConformanceError as err:
        print(f"conformance: {err}", file=sys.stderr)
        return 2
