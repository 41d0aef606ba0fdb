"""Mutation testing of the conformance corpus (issue 15): `make mutation`.

Cosmic Ray mutates one policy module of refimpl at a time; the only test run per mutant is
the whole conformance corpus, in-process, against the mutated reference (`conformance run
--in-process --require-all`: the unmutated reference passes every case, 0 skipped, so any
failure is the mutant's). The corpus takes about a second, so every mutant runs every case:
no per-policy selection that could be unsound (round_robin, weighted_round_robin and
least_request all run pick_first children).

Cosmic Ray rewrites the module on disk, so the mutants are made in a copy of the tree under
build/mutation/, never in the checkout. Each module's outcomes go to docs/mutation/<module>.json
and docs/mutation.md is regenerated from every module's file plus the reviewed equivalents in
conformance/mutation_equivalents.json (each with its one-line reason).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
POLICY_MODULES = (
    "round_robin",
    "least_request",
    "wrr_scheduler",
    "endpoint_sharding",
    "weighted_round_robin",
    "pick_first",
)
RESULTS_DIR = ROOT / "docs" / "mutation"
REPORT = ROOT / "docs" / "mutation.md"
# Per module, the source its results were measured on: its sha256 (a later edit of the module
# shifts lines, so its results are marked stale) and its annotation spans (classified there).
SOURCES = RESULTS_DIR / "sources.json"
README = ROOT / "README.md"
README_BEGIN = "<!-- mutation-table:begin (python -m conformance.mutation report) -->"
README_END = "<!-- mutation-table:end -->"
EQUIVALENTS = ROOT / "conformance" / "mutation_equivalents.json"
WORK = ROOT / "build" / "mutation"
COPIED = ("spec", "refimpl", "conformance")
PER_MUTANT_TIMEOUT_S = 60.0
ANNOTATION_REASON = (
    "inside a type annotation, never evaluated (`from __future__ import annotations`)"
)


def _mutant_key(mutant: dict[str, Any]) -> tuple[str, int, int]:
    return (mutant["operator"], mutant["occurrence"], mutant["line"])


def _test_command() -> str:
    return f"{sys.executable} -m conformance run --in-process --require-all -q"


def annotation_spans(source: str) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """The (start, end) positions of every annotation: with ``from __future__ import
    annotations`` none is evaluated, so a mutant inside one is equivalent by construction."""
    spans = []
    for node in ast.walk(ast.parse(source)):
        annotations: list[ast.expr | None] = []
        if isinstance(node, ast.arg):
            annotations.append(node.annotation)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            annotations.append(node.returns)
        elif isinstance(node, ast.AnnAssign):
            annotations.append(node.annotation)
        for annotation in annotations:
            if annotation is not None and annotation.end_lineno is not None:
                end_column = annotation.end_col_offset or 0
                spans.append(
                    (
                        (annotation.lineno, annotation.col_offset),
                        (annotation.end_lineno, end_column),
                    )
                )
    return spans


def measured_source(source: str) -> dict[str, Any]:
    """What the report keeps of the source a module's mutants were made from."""
    spans = annotation_spans(source) if "from __future__ import annotations" in source else []
    return {
        "sha256": hashlib.sha256(source.encode("utf-8")).hexdigest(),
        "annotation_spans": [[*start, *end] for start, end in spans],
    }


def _sources() -> dict[str, dict[str, Any]]:
    return dict(json.loads(SOURCES.read_text())) if SOURCES.exists() else {}


def _record_source(module: str, source: str) -> None:
    sources = _sources()
    sources[module] = measured_source(source)
    SOURCES.write_text(json.dumps(sources, indent=1, sort_keys=True) + "\n")


def run_module(module: str) -> list[dict[str, Any]]:
    """Mutate refimpl/<module>.py in a fresh copy of the tree; the outcome of each mutant."""
    tree = WORK / module / "tree"
    if tree.parent.exists():
        shutil.rmtree(tree.parent)
    for package in COPIED:
        shutil.copytree(
            ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    baseline = subprocess.run(_test_command().split(), cwd=tree, capture_output=True, text=True)
    if baseline.returncode != 0:
        raise SystemExit(f"mutation: the unmutated corpus fails in {tree}:\n{baseline.stdout}")
    config = tree.parent / "cosmic-ray.toml"
    config.write_text(
        "[cosmic-ray]\n"
        f'module-path = "refimpl/{module}.py"\n'
        f"timeout = {PER_MUTANT_TIMEOUT_S}\n"
        "excluded-modules = []\n"
        f'test-command = "{_test_command()}"\n'
        "[cosmic-ray.distributor]\n"
        'name = "local"\n'
    )
    session = tree.parent / "session.sqlite"
    subprocess.run([_cosmic_ray(), "init", str(config), str(session)], cwd=tree, check=True)
    subprocess.run([_cosmic_ray(), "exec", str(config), str(session)], cwd=tree, check=True)
    return collect(module)


def _cosmic_ray() -> str:
    return str(Path(sys.executable).parent / "cosmic-ray")


def collect(module: str) -> list[dict[str, Any]]:
    """The outcome of each mutant in the module's session so far ("not run" if pending)."""
    tree = WORK / module / "tree"
    session = tree.parent / "session.sqlite"
    cosmic_ray = _cosmic_ray()
    dump = subprocess.run(
        [cosmic_ray, "dump", str(session)], cwd=tree, check=True, capture_output=True, text=True
    )
    mutants: list[dict[str, Any]] = []
    for line in dump.stdout.splitlines():
        item, result = json.loads(line)
        (mutation,) = item["mutations"]
        if result is None:
            outcome = "not run"
        elif result["worker_outcome"] == "timeout":
            outcome = "killed"  # the corpus did not finish: the mutant hangs a case
        elif result["worker_outcome"] != "normal":
            outcome = "incompetent"
        else:
            outcome = result["test_outcome"]
        mutants.append(
            {
                "operator": mutation["operator_name"],
                "occurrence": mutation["occurrence"],
                "line": mutation["start_pos"][0],
                "column": mutation["start_pos"][1],
                "function": mutation.get("definition_name") or "",
                "outcome": outcome,
                "diff": (result or {}).get("diff") or "",
            }
        )
    mutants.sort(key=lambda m: (m["line"], m["column"], m["operator"], m["occurrence"]))
    return mutants


def _equivalents() -> dict[str, dict[tuple[str, int, int], str]]:
    if not EQUIVALENTS.exists():
        return {}
    table: dict[str, dict[tuple[str, int, int], str]] = {}
    for entry in json.loads(EQUIVALENTS.read_text()):
        key = (entry["operator"], entry["occurrence"], entry["line"])
        table.setdefault(entry["module"], {})[key] = entry["reason"]
    return table


def render_report() -> str:
    equivalents = _equivalents()
    sources = _sources()
    lines = [
        "# Mutation testing of the conformance corpus",
        "",
        "Generated by `make mutation` (conformance/mutation.py, Cosmic Ray): each mutant of",
        "a refimpl policy module runs against the whole corpus in-process; a failing case",
        "kills it.",
        "Equivalent mutants are reviewed in conformance/mutation_equivalents.json.",
        "",
        "| module | mutants | killed | equivalent | survived | score |",
        "|---|---|---|---|---|---|",
    ]
    details: list[str] = []
    for module in POLICY_MODULES:
        path = RESULTS_DIR / f"{module}.json"
        if not path.exists():
            lines.append(f"| {module} | not run yet | | | | |")
            continue
        mutants: list[dict[str, Any]] = json.loads(path.read_text())
        reasons = dict(equivalents.get(module, {}))
        current = measured_source((ROOT / "refimpl" / f"{module}.py").read_text())
        measured = sources.get(module, current)
        stale = measured["sha256"] != current["sha256"]
        for m in mutants:
            start = (m["line"], m["column"])
            if any((a, b) <= start < (c, d) for a, b, c, d in measured["annotation_spans"]):
                reasons[_mutant_key(m)] = ANNOTATION_REASON
        pending = [m for m in mutants if m["outcome"] == "not run"]
        mutants = [m for m in mutants if m["outcome"] != "not run"]
        killed = [m for m in mutants if m["outcome"] == "killed"]
        equivalent = [m for m in mutants if m["outcome"] != "killed" and _mutant_key(m) in reasons]
        survived = [
            m for m in mutants if m["outcome"] != "killed" and _mutant_key(m) not in reasons
        ]
        relevant = len(mutants) - len(equivalent)
        score = f"{100 * len(killed) / relevant:.1f}%" if relevant else "n/a"
        name = f"{module} (partial: {len(pending)} more not run yet)" if pending else module
        if stale:  # lines and verdicts belong to the source measured, not to today's
            name += f" (stale: refimpl/{module}.py changed since; re-run)"
        lines.append(
            f"| {name} | {len(mutants)} | {len(killed)} | {len(equivalent)} | "
            f"{len(survived)} | {score} |"
        )
        if equivalent or survived:
            details += ["", f"## {module}", ""]
            for m in equivalent:
                details.append(
                    f"- equivalent: line {m['line']} `{m['operator']}` #{m['occurrence']} "
                    f"({m['function']}): {reasons[_mutant_key(m)]}"
                )
            for m in survived:
                details.append(
                    f"- {m['outcome']}: line {m['line']} `{m['operator']}` #{m['occurrence']} "
                    f"({m['function']})"
                )
    lines.append("")
    lines.append("Score = killed / (mutants - equivalent).")
    return "\n".join(lines + details) + "\n"


def summary_table() -> str:
    """The per-module table of docs/mutation.md, for the README."""
    rows = [line for line in render_report().splitlines() if line.startswith("|")]
    return "\n".join(rows) + "\n"


def update_readme() -> None:
    text = README.read_text()
    head, found, rest = text.partition(README_BEGIN)
    _, found_end, tail = rest.partition(README_END)
    if not (found and found_end):
        raise SystemExit(f"mutation: README.md lacks the markers {README_BEGIN} ... {README_END}")
    README.write_text(head + README_BEGIN + "\n" + summary_table() + README_END + tail)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m conformance.mutation")
    # collect: write a module's results from its (possibly unfinished) session.
    parser.add_argument("command", choices=("run", "report", "collect"))
    parser.add_argument("modules", nargs="*", help=f"default: {' '.join(POLICY_MODULES)}")
    args = parser.parse_args(argv)
    modules: list[str] = args.modules or list(POLICY_MODULES)
    unknown = sorted(set(modules) - set(POLICY_MODULES))
    if unknown:
        print(f"mutation: unknown module(s) {', '.join(unknown)}", file=sys.stderr)
        return 2
    if args.command == "run":
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        for module in modules:
            source = (ROOT / "refimpl" / f"{module}.py").read_text()  # what the copy mutates
            mutants = run_module(module)
            (RESULTS_DIR / f"{module}.json").write_text(json.dumps(mutants, indent=1) + "\n")
            _record_source(module, source)
            REPORT.write_text(render_report())
            update_readme()
            print(f"mutation: {module}: {len(mutants)} mutants done", flush=True)
    if args.command == "collect":
        for module in modules:
            (RESULTS_DIR / f"{module}.json").write_text(
                json.dumps(collect(module), indent=1) + "\n"
            )
            copy = WORK / module / "tree" / "refimpl" / f"{module}.py"  # the session's source
            _record_source(module, copy.read_text())
    REPORT.write_text(render_report())
    update_readme()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
