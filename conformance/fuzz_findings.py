"""How long fuzzing takes to find each planted bug: the README's table.

For every planted bug (``conformance/planted.py``) this runs ``fuzz``
in-process against the reference with that bug, with a fixed seed and a budget
of sequences, and reports how many sequences and seconds it took until the
first failing sequence (before shrinking), or that the budget ran out::

    python -m conformance.fuzz_findings               # print the table
    python -m conformance.fuzz_findings --write README.md   # replace it in the README

Timings are wall-clock on whatever machine runs it (the README says which);
sequence counts are deterministic for a given seed.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Sequence
from pathlib import Path

import attrs

from conformance.fuzz import FuzzStats, fuzz
from conformance.planted import BUGS, broken_transport

START = "<!-- fuzz-findings:start -->"
END = "<!-- fuzz-findings:end -->"


@attrs.frozen
class Finding:
    bug: str
    policy: str
    breaks: tuple[str, ...]
    sequences: int | None  # until the first failing sequence; None: not found
    seconds: float | None
    budget: int
    requirements: tuple[str, ...] = ()  # what the found sequence violated


def find(bug: str, *, budget: int, max_steps: int, seed: int) -> Finding:
    planted = BUGS[bug]
    stats = FuzzStats()
    found = fuzz(
        lambda: broken_transport(bug),
        planted.policy,
        examples=budget,
        max_steps=max_steps,
        seed=seed,
        stats=stats,
    )
    return Finding(
        bug,
        planted.policy,
        planted.breaks,
        stats.first_failure_sequence if found is not None else None,
        stats.first_failure_seconds if found is not None else None,
        budget,
        found.requirements if found is not None else (),
    )


def table(findings: Sequence[Finding], *, max_steps: int, seed: int) -> str:
    caught = sum(f.sequences is not None for f in findings)
    lines = [
        START,
        f"Fuzzing (`fuzz`, seed {seed}, at most {max_steps} steps a sequence) against each "
        f"planted bug: {caught} of {len(findings)} found within a budget of {findings[0].budget} "
        "Hypothesis examples. Sequences (every one run, Hypothesis's replays included) and "
        "seconds until the first failing sequence, before shrinking, on a shared two-core "
        "machine (`python -m conformance.fuzz_findings --write README.md` regenerates this).",
        "",
        "| planted bug | breaks | sequences | seconds | violated |",
        "|---|---|---:|---:|---|",
    ]
    for f in findings:
        if f.sequences is None:
            found = f"not in {f.budget}"
            seconds = "-"
        else:
            found = str(f.sequences)
            seconds = f"{f.seconds:.1f}"
        violated = ", ".join(f.requirements) or "-"
        lines.append(f"| {f.bug} | {', '.join(f.breaks)} | {found} | {seconds} | {violated} |")
    lines.append(END)
    return "\n".join(lines)


def write(path: Path, text: str) -> None:
    old = path.read_text(encoding="utf-8")
    pattern = re.compile(re.escape(START) + ".*?" + re.escape(END), re.DOTALL)
    if not pattern.search(old):
        raise SystemExit(f"{path}: no {START} ... {END} block to replace")
    path.write_text(pattern.sub(lambda _: text, old), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.fuzz_findings")
    parser.add_argument("--budget", type=int, default=300, help="sequences per bug")
    parser.add_argument("--steps", type=int, default=30, help="steps per sequence")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", nargs="*", default=None, help="bugs to run")
    parser.add_argument("--write", type=Path, help="replace the table in this file")
    args = parser.parse_args(argv)
    findings = []
    for bug in args.only or sorted(BUGS):
        finding = find(bug, budget=args.budget, max_steps=args.steps, seed=args.seed)
        print(f"{bug}: {finding.sequences} sequences, {finding.seconds} s", file=sys.stderr)
        findings.append(finding)
    text = table(findings, max_steps=args.steps, seed=args.seed)
    if args.write:
        write(args.write, text)
    else:
        print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
