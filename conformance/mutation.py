"""Mutation testing of refimpl's policy modules, with the conformance corpus as the only test.

``make mutation`` (``python -m conformance.mutation MODULE...``) runs cosmic-ray on
each module: every mutant (an operator flipped, a constant changed, a statement
removed...) is applied to a copy of the repository, and the corpus runs against
it in-process (``python -m conformance run --in-process``).  A mutant is
*killed* when the run reports an unexpected result, *survived* when every case
still passes (a bug the corpus cannot see, unless the mutant is equivalent), and
*incompetent* when it cannot even be imported.  The report goes to
``docs/mutation.md``: per module the counts, and each survivor with its line and
operator, to be shown equivalent (with a one-line reason) or killed by a new case.

Why cosmic-ray rather than mutmut: its test command is any command, so the
corpus runner itself is the test, with no pytest wrapper; and it works on a
copy, so an interrupted run never leaves a mutated file in the work tree.  Not
part of ``make check``: a module of a few hundred lines takes tens of minutes.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

ROOT = Path(__file__).resolve().parents[1]
COPIED = ("spec", "refimpl", "conformance", "pyproject.toml")
REPORT = ROOT / "docs" / "mutation.md"
TIMEOUT = 120.0  # seconds per mutant; the corpus runs in a few


@attrs.frozen
class Mutant:
    module: str
    operator: str
    line: int
    outcome: str  # killed | survived | incompetent
    diff: str


def _config(module: str) -> str:
    test = f"{sys.executable} -m conformance run --in-process"
    return (
        "[cosmic-ray]\n"
        f'module-path = "{module}"\n'
        f"timeout = {TIMEOUT}\n"
        "excluded-modules = []\n"
        f'test-command = "{test}"\n'
        "\n[cosmic-ray.distributor]\n"
        'name = "local"\n'
    )


def run_module(module: str, workdir: Path) -> list[Mutant]:
    """All mutants of ``module`` (a path like refimpl/round_robin.py), run in ``workdir``."""
    config = workdir / "cosmic-ray.toml"
    session = workdir / "session.sqlite"
    config.write_text(_config(module), encoding="utf-8")
    session.unlink(missing_ok=True)
    cosmic = [sys.executable, "-m", "cosmic_ray.cli"]
    subprocess.run([*cosmic, "init", str(config), str(session)], cwd=workdir, check=True)
    subprocess.run([*cosmic, "exec", str(config), str(session)], cwd=workdir, check=True)
    dump = subprocess.run(
        [*cosmic, "dump", str(session)], cwd=workdir, check=True, capture_output=True, text=True
    )
    return [_mutant(module, json.loads(line)) for line in dump.stdout.splitlines() if line]


def _mutant(module: str, record: Any) -> Mutant:
    item, result = record
    mutation = item["mutations"][0]
    outcome = (result or {}).get("test_outcome") or "not run"
    diff = (result or {}).get("diff") or ""
    return Mutant(
        module,
        mutation["operator_name"].removeprefix("core/"),
        int(mutation["start_pos"][0]),
        outcome,
        diff,
    )


def _changed_lines(diff: str) -> str:
    lines = [
        line[1:].strip()
        for line in diff.splitlines()
        if line.startswith(("-", "+")) and not line.startswith(("---", "+++"))
    ]
    return " -> ".join(f"`{line}`" for line in lines[:2]).replace("|", "\\|")


def report(mutants: Sequence[Mutant]) -> str:
    modules = sorted({m.module for m in mutants})
    lines = [
        "<!-- Written by `make mutation` (python -m conformance.mutation). -->",
        "",
        "# Mutation testing: refimpl's policy modules against the conformance corpus",
        "",
        "cosmic-ray mutates one module at a time; the corpus, run in-process against the "
        "mutated reference, is the only test. Killed: some case failed. Survived: every "
        "case passed, so the corpus cannot tell the mutant from the reference -- each "
        "survivor is to be shown equivalent or killed by a new case. Incompetent: the "
        "mutant does not import.",
        "",
        "| module | mutants | killed | survived | incompetent | killed of competent |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for module in modules:
        mine = [m for m in mutants if m.module == module]
        killed = sum(m.outcome == "killed" for m in mine)
        survived = sum(m.outcome == "survived" for m in mine)
        incompetent = sum(m.outcome == "incompetent" for m in mine)
        competent = killed + survived
        score = f"{100 * killed / competent:.0f}%" if competent else "-"
        lines.append(
            f"| {module} | {len(mine)} | {killed} | {survived} | {incompetent} | {score} |"
        )
    for module in modules:
        survivors = [m for m in mutants if m.module == module and m.outcome == "survived"]
        if not survivors:
            continue
        lines += ["", f"## Survivors in {module}", "", "| line | operator | change |"]
        lines.append("|---:|---|---|")
        for m in sorted(survivors, key=lambda m: (m.line, m.operator)):
            lines.append(f"| {m.line} | {m.operator} | {_changed_lines(m.diff)} |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.mutation")
    parser.add_argument("modules", nargs="+", help="e.g. refimpl/round_robin.py")
    parser.add_argument("--report", type=Path, default=REPORT)
    args = parser.parse_args(argv)
    if importlib.util.find_spec("cosmic_ray") is None:
        print("mutation: needs cosmic-ray (make mutation installs it)", file=sys.stderr)
        return 2
    mutants: list[Mutant] = []
    with tempfile.TemporaryDirectory(prefix="mutation-") as tmp:
        workdir = Path(tmp)
        for name in COPIED:  # a copy: the work tree is never mutated
            source = ROOT / name
            if source.is_dir():
                shutil.copytree(source, workdir / name, ignore=shutil.ignore_patterns("*.pyc"))
            else:
                shutil.copy(source, workdir / name)
        for module in args.modules:
            mutants += run_module(module, workdir)
    args.report.write_text(report(mutants), encoding="utf-8")
    print(f"mutation: {len(mutants)} mutants; wrote {args.report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
