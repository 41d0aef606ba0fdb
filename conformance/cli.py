"""The command line: ``python -m conformance list | run | explain | fuzz | explore``.

Exit status: 0 when every result is expected, 1 when any is unexpected (CONF-6),
2 when the cases, the expectations file or the command line are wrong (one line on
stderr, ``conformance: <what>``, never a traceback), 130 when interrupted (the
summary of the cases run so far is printed first).
"""

from __future__ import annotations

import argparse
import difflib
import json
import math
import shlex
import sys
import tempfile
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, NoReturn

import attrs

from conformance.cases import CASES_DIR, Capability, Case, load_cases
from conformance.errors import ConformanceError, UsageError
from conformance.results import CaseResult, Expectations, load_expectations
from conformance.runner import DEFAULT_START_TIMEOUT, DEFAULT_STEP_TIMEOUT, run_cases
from conformance.transport import SubprocessTransport, Transport

MAX_STEP_TIMEOUT = 3600.0  # seconds; more is a typo (and poll() takes at most ~24 days)
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors raised as one-line UsageErrors instead of usage + exit."""

    def error(self, message: str) -> NoReturn:
        command = self.prog.removeprefix("python -m conformance").strip()
        raise UsageError(f"{command}: {message}" if command else message)


def _seconds(text: str) -> float:
    """An argparse type: a step timeout, finite and positive (0, -1, nan, 1e9 are refused)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if not (math.isfinite(value) and 0 < value <= MAX_STEP_TIMEOUT):
        raise argparse.ArgumentTypeError(
            f"expected seconds in (0, {MAX_STEP_TIMEOUT:g}], got {text!r}"
        )
    return value


def _whole_number(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"expected at least {least}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An argparse type: a whole number, 1 or more (endpoints, jobs)."""
    return _whole_number(text, 1)


def _command(text: str) -> str:
    """An argparse type: an adapter command line that splits like a POSIX shell's."""
    try:
        argv = shlex.split(text)
    except ValueError as err:
        raise argparse.ArgumentTypeError(f"cannot split {text!r} like a shell: {err}") from None
    if not argv:
        raise argparse.ArgumentTypeError("the adapter command is empty")
    return text


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
        "--adapter",
        metavar="COMMAND",
        type=_command,
        help="start the adapter with COMMAND (split like a shell)",
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
        type=_seconds,
        default=DEFAULT_STEP_TIMEOUT,
        help=f"seconds an adapter may take per step (default {DEFAULT_STEP_TIMEOUT:g})",
    )
    parser.add_argument(
        "--start-timeout",
        type=_seconds,
        default=DEFAULT_START_TIMEOUT,
        help="seconds an adapter may take to start and shake hands "
        f"(default {DEFAULT_START_TIMEOUT:g}; at least --timeout)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="python -m conformance",
        description="The gRPC load-balancing conformance suite (adapter protocol v1).",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    listing = sub.add_parser("list", help="list the cases")
    _add_filters(listing)
    listing.add_argument(  # issue 17: from a requirement to its cases
        "--requirement",
        action="append",
        default=[],
        metavar="ID",
        help="cases that check requirement ID (PF-16); see docs/requirements.md",
    )
    run = sub.add_parser("run", help="run the cases against an adapter")
    _add_filters(run)
    _add_adapter(run)
    run.add_argument("--json", type=Path, metavar="FILE", help="write the JSON report to FILE")
    run.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML to FILE")
    run.add_argument(
        "--no-timings",
        action="store_true",
        help="leave wall-clock times out of --json/--junit, so that two runs of an adapter "
        "with virtual time and seeded randomness write byte-identical reports",
    )
    run.add_argument(
        "--expectations", type=Path, metavar="FILE", help="known failures (JSON, see PROTOCOL.md)"
    )
    run.add_argument("-v", "--verbose", action="store_true", help="also show why cases skipped")
    run.add_argument(
        "-q", "--quiet", action="store_true", help="no progress, no per-case lines: what failed"
    )
    run.add_argument("--tally", action="store_true", help="also tally the results by requirement")
    run.add_argument(
        "--require-all",
        action="store_true",
        help="a SKIPPED case is unexpected (for adapters that lack nothing, e.g. the reference)",
    )
    explain = sub.add_parser("explain", help="narrate a case step by step")
    explain.add_argument("case", help="the case ID")
    explain.add_argument("--cases", type=Path, default=CASES_DIR, help="the case directory")
    fuzz = sub.add_parser("fuzz", help="generate input sequences and let the monitors judge")
    _add_adapter(fuzz)
    fuzz.add_argument("--policy", required=True, help="the policy to fuzz")
    fuzz.add_argument(
        "--examples", type=positive_int, default=200, help="how many sequences to try"
    )
    fuzz.add_argument(
        "--steps", type=positive_int, default=30, help="at most this many inputs each"
    )
    fuzz.add_argument("--seed", type=int, default=0, help="the generator's seed")
    fuzz.add_argument(
        "--out",
        type=Path,
        help="where a failing case is written (default: a new temporary folder, printed)",
    )
    _add_explore(sub)
    return parser


def _check_filter(option: str, given: Iterable[str], known: set[str]) -> None:
    """A filter value no case has is a typo, not a request for nothing: say what exists."""
    for value in given:
        if value not in known:
            near = difflib.get_close_matches(value, sorted(known), n=1)
            hint = f"did you mean {near[0]!r}? " if near else ""
            raise UsageError(
                f"{option} {value!r}: no case has it ({hint}valid: {', '.join(sorted(known))})"
            )


# --- explore (issue 18): the logic is in conformance/explore.py ---


def whole_count(text: str) -> int:
    """An argparse type: a whole number, 0 or more (a depth)."""
    return _whole_number(text, 0)


def _add_explore(sub: Any) -> None:
    from conformance.explore import parse_config, parse_shard, parse_spec_option

    explore = sub.add_parser(
        "explore", help="every legal input sequence up to a depth, breadth-first (a bounded proof)"
    )
    explore.add_argument("--policy", help="the policy to explore")
    explore.add_argument(
        "--adapter", metavar="COMMAND", type=_command, help="start the adapter with COMMAND"
    )
    explore.add_argument("--in-process", action="store_true", help="the reference, in-process")
    explore.add_argument("--load", action="append", default=[], metavar="MODULE")
    explore.add_argument("--timeout", type=_seconds, default=DEFAULT_STEP_TIMEOUT)
    explore.add_argument(
        "--endpoints", type=positive_int, default=3, help="addresses in the alphabet"
    )
    explore.add_argument(
        "--depth", type=whole_count, help="explore every sequence of this many inputs"
    )
    explore.add_argument("--jobs", type=positive_int, default=1, help="worker processes")
    explore.add_argument("--shard", type=parse_shard, metavar="I/N", help="the I-th of N parts")
    explore.add_argument("--out", type=Path, metavar="DIR", help="write results (and a case)")
    explore.add_argument("--health-checking", action="store_true", help="health_state inputs")
    explore.add_argument("--seed", type=int, default=0, help="the channel's seed")
    explore.add_argument(
        "--spec-option",
        type=parse_spec_option,
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="set an option the adapter can follow per case (its configurable_options)",
    )
    explore.add_argument(
        "--config",
        type=parse_config,
        metavar="JSON",
        help="the policy config every resolver update carries (default: the policy's defaults)",
    )
    explore.add_argument(
        "--history",
        type=whole_count,
        default=0,
        metavar="H",
        help="also key each state on the last H inputs that reached it (default 0)",
    )
    explore.add_argument(
        "--implementation-state",
        action="store_true",
        help="with --in-process: also key each state on the reference's own state, so that "
        "paths it remembers differently stay apart (docs/explore.md)",
    )
    explore.add_argument(
        "--burst-picks",
        type=positive_int,
        metavar="N",
        help="picks in every burst (least_request, weighted_round_robin; default: the "
        "policy's, docs/explore.md): more give a statistical rule more power",
    )
    explore.add_argument("--no-coverage", action="store_true", help="skip requirement coverage")
    explore.add_argument(
        "--keep-going",
        action="store_true",
        help="record a violating path, do not extend it, and go on; report each distinct "
        "violation once (its shortest case, how many paths hit it)",
    )
    explore.add_argument(
        "--no-timings",
        action="store_true",
        help="leave the wall-clock seconds out of the --out result, so that two runs write "
        "byte-identical files",
    )
    explore.add_argument("--merge", nargs="+", metavar="FILE", help="merge shard results")


def _explore(args: argparse.Namespace) -> int:
    from conformance.explore import command

    return command(args)


def select(cases: Sequence[Case], args: argparse.Namespace) -> list[Case]:
    """Filters: OR within one option, AND across options.  A filter value that names
    nothing, or filters that together select nothing, is a UsageError: a run that checked
    nothing must not pass."""
    _check_filter("--area", args.area, {c.area for c in cases})
    _check_filter("--policy", args.policy, {c.policy for c in cases})
    for prefix in args.id:
        if not any(c.id.startswith(prefix) for c in cases):
            prefixes = sorted({c.id.split("-")[0] + "-" for c in cases})
            raise UsageError(
                f"--id {prefix!r}: no case ID starts with it (IDs start {', '.join(prefixes)})"
            )
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
    if not chosen:
        used = [
            f"--{name} {' '.join(values)}"
            for name in ("id", "area", "policy", "capability")
            if (values := getattr(args, name))
        ]
        raise UsageError(f"{' and '.join(used)} together select none of the {len(cases)} cases")
    return chosen


def connector(args: argparse.Namespace) -> Callable[[], Transport]:
    if args.in_process:
        from conformance.adapters.inprocess import refimpl_transport

        return lambda: refimpl_transport(args.load)
    command: str = args.adapter
    return lambda: SubprocessTransport(command)


def _check_writable(path: Path, option: str) -> None:
    """Fail before the run, not after it, when a report file cannot be written."""
    existed = path.exists()
    try:
        with path.open("a", encoding="utf-8"):
            pass
    except OSError as err:
        raise UsageError(f"{option} {path}: cannot write it: {err.strerror}") from None
    if not existed:
        path.unlink()


def _run(args: argparse.Namespace) -> int:
    from conformance.report import Progress, render_terminal, to_json, to_junit

    for option, path in (("--json", args.json), ("--junit", args.junit)):
        if path is not None:
            _check_writable(path, option)
    all_cases = load_cases(args.cases)
    expectations = Expectations()
    if args.expectations is not None:
        expectations = load_expectations(args.expectations)
        expectations.check_cases(all_cases)
    cases = select(all_cases, args)
    progress = Progress(sys.stderr, enabled=not args.quiet)
    finished: list[CaseResult] = []

    def judged(result: CaseResult) -> CaseResult:
        (result,) = expectations.apply([result])
        return attrs.evolve(result, required=args.require_all)

    def on_result(done: int, total: int, result: CaseResult) -> None:
        finished.append(judged(result))
        progress(done, total, finished[-1])

    started = time.monotonic()
    try:
        _, hello = run_cases(
            cases,
            connector(args),
            step_timeout=args.timeout,
            start_timeout=args.start_timeout,
            progress=on_result,
            on_start=progress.starting,
        )
    except KeyboardInterrupt:
        progress.clear()
        seconds = time.monotonic() - started
        report = render_terminal(
            finished, None, seconds, verbose=args.verbose, quiet=args.quiet, interrupted=True
        )
        sys.stdout.write(report)
        print(
            f"conformance: interrupted after {len(finished)} of {len(cases)} cases "
            "(no report files written)",
            file=sys.stderr,
        )
        return EXIT_INTERRUPTED
    progress.clear()
    results = finished
    seconds = time.monotonic() - started
    sys.stdout.write(
        render_terminal(
            results, hello, seconds, verbose=args.verbose, tally=args.tally, quiet=args.quiet
        )
    )
    if args.json is not None:
        json_report = to_json(results, hello, seconds, timings=not args.no_timings)
        args.json.write_text(json.dumps(json_report, indent=2) + "\n")
    if args.junit is not None:
        junit = to_junit(results, seconds, timings=not args.no_timings)
        args.junit.write_text(junit, encoding="utf-8")
    return 1 if any(r.unexpected for r in results) else 0


def _list(args: argparse.Namespace) -> int:
    cases = select(load_cases(args.cases), args)
    if args.requirement:
        from conformance.requirement_index import cases_checking

        cases = cases_checking(cases, args.requirement)
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
        raise UsageError(f"explain: no case {args.case!r}{hint}")
    sys.stdout.write(explain(case))
    return 0


def _fuzz(args: argparse.Namespace) -> int:
    from conformance.fuzz import FuzzStats, fuzz

    stats = FuzzStats()  # what the sequences exercised, printed whatever the verdict
    found = fuzz(
        connector(args),
        args.policy,
        examples=args.examples,
        max_steps=args.steps,
        seed=args.seed,
        step_timeout=args.timeout,
        stats=stats,
    )
    print(stats.summary(args.policy))
    if found is None:
        print(f"fuzz: {args.examples} sequences against {args.policy}: no violation found")
        return 0
    out = args.out if args.out is not None else Path(tempfile.mkdtemp(prefix="conformance-fuzz-"))
    path = found.write(out)
    if found.shrunk:
        print(f"fuzz: found a failure, shrunk to {len(found.steps)} steps: {found.message}")
    else:
        print(f"fuzz: found a failure in {len(found.steps)} steps: {found.message}")
        print(f"fuzz: {found.note}")
    print(f"fuzz: wrote {path}")
    return 1


def main(argv: Sequence[str] | None = None) -> int:
    commands = {"list": _list, "run": _run, "explain": _explain, "fuzz": _fuzz}
    commands["explore"] = _explore
    try:
        args = build_parser().parse_args(argv)
        return commands[args.command](args)
    except ConformanceError as err:
        # One line: what was wrong and where (a file:line, an option, a JSON path).
        print(f"conformance: {' '.join(str(err).split())}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("conformance: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
