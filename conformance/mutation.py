"""Mutation testing of the conformance corpus (issue 15): `make mutation`.

Cosmic Ray mutates one policy module of refimpl at a time; the only test run per mutant is
the whole conformance corpus, in-process, against the mutated reference (every case must
pass, none skipped: the unmutated reference passes every case, so any failure is the
mutant's). No per-policy selection that could be unsound (round_robin, weighted_round_robin
and least_request all run pick_first children): the mutated policy's own cases run first and
the first case that does not pass ends the run, which reaches the same verdict as running
them all, sooner. A case that spends more than CASE_CPU_LIMIT_S seconds of CPU (many times
the slowest case) hangs, and kills the mutant, as Cosmic Ray's own time-out would, later.
Mutants inside annotations are never run: with `from __future__ import annotations` they
are equivalent by construction.

Cosmic Ray makes the session (which mutants exist: its operators and occurrences) and each
mutant's code; running them is ours, because on a shared two-core machine Cosmic Ray's
worker (two fresh interpreters per mutant, each reloading the corpus) cost half as much as the
corpus itself. One process loads the corpus once, then forks a child per mutant that
imports refimpl afresh with the mutated module's code in place of the file's (refimpl is
never imported before the fork) and runs the corpus; the child's exit status is the verdict,
stored in Cosmic Ray's session as its own worker's would be. `cosmic-ray exec` on the same
session (test command `python -m conformance.mutation corpus MODULE`) gives the same
verdicts, slower. The session lives under build/mutation/<module>/, never in the checkout;
`resume` continues an interrupted run with the mutants that have no verdict yet, and
`recheck` runs the survivors again after cases were added. Each module's outcomes go to
docs/mutation/<module>.json, and docs/mutation.md is regenerated from every module's file
plus the reviewed equivalents in conformance/mutation_equivalents.json (each with its
one-line reason).
"""

from __future__ import annotations

import argparse
import ast
import hashlib
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance.cases import Case

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
# CPU seconds one case may take before the mutant counts as hanging it (the slowest case takes
# about 0.3 s; CPU time, not wall time, so a busy machine cannot turn a survivor into a kill).
CASE_CPU_LIMIT_S = 5.0
# The policy whose cases run first for each module (the rest follow, in corpus order).
FIRST_POLICY = {
    "round_robin": "round_robin",
    "least_request": "least_request_experimental",
    "wrr_scheduler": "weighted_round_robin",
    "endpoint_sharding": "round_robin",
    "weighted_round_robin": "weighted_round_robin",
    "pick_first": "pick_first",
}
# The verdict of a mutant in a function the corpus never calls: it survives, unrun.
NEVER_RUN = "survived unrun: the corpus never calls the function"
ANNOTATION_REASON = (
    "inside a type annotation, never evaluated (`from __future__ import annotations`)"
)


def _mutant_key(mutant: dict[str, Any]) -> tuple[str, int, int]:
    return (mutant["operator"], mutant["occurrence"], mutant["line"])


def _test_command(module: str) -> str:
    return f"{sys.executable} -m conformance.mutation corpus {module}"


def run_corpus(module: str) -> int:
    """The test command: the corpus in-process, 0 iff every case passes (else 1, and the first
    case that did not pass is named on stderr)."""
    from conformance.cases import load_cases

    failed = corpus_failure(load_cases(), module)
    if failed is not None:
        print(f"mutation: {failed}", file=sys.stderr)
        return 1
    return 0


def corpus_failure(cases: Sequence[Case], module: str) -> str | None:
    """Run ``cases`` in-process, the module's policy first, until one does not pass: that
    case and why, or None when every case passed."""
    import signal

    from conformance.adapters.inprocess import refimpl_transport
    from conformance.results import CaseResult, Outcome
    from conformance.runner import run_cases

    first = FIRST_POLICY[module]
    ordered = sorted(cases, key=lambda case: case.policy != first)  # stable: corpus order

    class NotPassedError(Exception):
        pass

    def on_cpu_limit(signum: int, frame: object) -> None:
        # os._exit, not an exception: a hung policy may catch exceptions, and a hang is
        # a kill either way.
        sys.stderr.write(f"mutation: a case used more than {CASE_CPU_LIMIT_S} s of CPU\n")
        sys.stderr.flush()
        os._exit(1)

    def on_start(number: int, total: int, case: Case) -> None:
        signal.setitimer(signal.ITIMER_VIRTUAL, CASE_CPU_LIMIT_S)

    def progress(number: int, total: int, result: CaseResult) -> None:
        signal.setitimer(signal.ITIMER_VIRTUAL, 0)
        if result.outcome is not Outcome.PASS:
            detail = result.message.splitlines()[0] if result.message else ""
            raise NotPassedError(f"{result.case.id}: {result.outcome.value}: {detail}")

    signal.signal(signal.SIGVTALRM, on_cpu_limit)
    try:
        results, _ = run_cases(
            ordered, lambda: refimpl_transport(()), progress=progress, on_start=on_start
        )
    except NotPassedError as failed:
        return str(failed)
    if len(results) != len(cases):  # never pass on fewer cases than the corpus holds
        return f"{len(results)} of {len(cases)} cases run"
    return None


def _mutant_verdict(
    cases: Sequence[Case], module: str, code: str, *, trace: bool = False
) -> tuple[bool, str]:
    """Whether the corpus kills refimpl/<module>.py replaced by ``code`` (and why), in a
    forked child that imports refimpl afresh; with ``trace``, a passing run's message is the
    JSON list of the module's lines that ran."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns
        os.close(read_end)
        quiet = os.open(os.devnull, os.O_WRONLY)  # a mutant may print; the verdict is its status
        os.dup2(quiet, 1)
        os.dup2(quiet, 2)
        status, message = 1, "the child ended without a verdict"
        try:
            lines: set[int] = set()
            if trace:
                _trace_lines(str(ROOT / "refimpl" / f"{module}.py"), lines)
            failed = _in_child(cases, module, code)
            sys.settrace(None)
            ran = json.dumps(sorted(lines)) if trace else ""
            status, message = (0, ran) if failed is None else (1, failed)
        except BaseException as err:  # a mutant that breaks the import is killed by it
            message = f"{type(err).__name__}: {err}".splitlines()[0]
        finally:
            payload = message.encode("utf-8", "replace")
            while payload:  # a pipe write may take less than all of it
                payload = payload[os.write(write_end, payload[: 1 << 16]) :]
            os._exit(status)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        message = pipe.read().decode("utf-8", "replace")
    _, wait_status = os.waitpid(pid, 0)
    killed = os.waitstatus_to_exitcode(wait_status) != 0
    if killed and not message:
        message = f"the child exited with status {os.waitstatus_to_exitcode(wait_status)}"
    return killed, message


def _trace_lines(filename: str, lines: set[int]) -> None:
    """Record into ``lines`` every line of ``filename`` that runs from now on."""
    from types import FrameType
    from typing import Any as Tracer

    def local(frame: FrameType, event: str, arg: object) -> Tracer:
        if event == "line":
            lines.add(frame.f_lineno)
        return local

    def calls(frame: FrameType, event: str, arg: object) -> Tracer:
        if frame.f_code.co_filename == filename:
            lines.add(frame.f_lineno)
            return local
        return None

    sys.settrace(calls)


def never_run(source: str, ran: set[int]) -> dict[int, str]:
    """Line -> function, for every line in the body of a function none of whose body lines
    ran: the corpus never called it, so a mutant there cannot change any run (the corpus
    in-process is deterministic: virtual time, seeded random)."""
    dead: dict[int, str] = {}
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.end_lineno:
            body = range(node.body[0].lineno, node.end_lineno + 1)
            if not ran.intersection(body):
                dead.update(dict.fromkeys(body, node.name))
    return dead


def _in_child(cases: Sequence[Case], module: str, code: str) -> str | None:
    import importlib
    import importlib.util
    import resource

    # A backstop to the per-case CPU limit: the whole corpus takes a few CPU seconds.
    resource.setrlimit(resource.RLIMIT_CPU, (int(PER_MUTANT_TIMEOUT_S), int(PER_MUTANT_TIMEOUT_S)))
    package = importlib.import_module("refimpl")
    name = f"refimpl.{module}"
    path = ROOT / "refimpl" / f"{module}.py"
    spec = importlib.util.spec_from_loader(name, loader=None, origin=str(path))
    assert spec is not None
    mutated = importlib.util.module_from_spec(spec)
    mutated.__file__ = str(path)
    sys.modules[name] = mutated  # as an import does: before the body runs
    exec(compile(code, str(path), "exec", dont_inherit=True), mutated.__dict__)
    setattr(package, module, mutated)
    return corpus_failure(cases, module)


def execute_session(module: str, session: Path, source: str, *, survivors: bool = False) -> None:
    """Give every mutant of the session without a result its verdict (see the docstring);
    with ``survivors``, run again instead the mutants that survived and are not reviewed
    equivalents."""
    import difflib

    from cosmic_ray.mutating import mutate_code
    from cosmic_ray.plugins import get_operator
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import TestOutcome, WorkerOutcome, WorkResult

    from conformance.cases import load_cases

    if any(name == "refimpl" or name.startswith("refimpl.") for name in sys.modules):
        raise SystemExit("mutation: refimpl is imported already: the children would share it")
    cases = load_cases()
    killed, message = _mutant_verdict(cases, module, source, trace=True)
    if killed:
        raise SystemExit(f"mutation: the unmutated corpus fails: {message}")
    dead = never_run(source, set(json.loads(message)))
    with use_db(str(session), WorkDB.Mode.open) as db:
        if survivors:  # those not reviewed as equivalent
            reviewed = _equivalents().get(module, {})
            pending = [
                item
                for item, result in db.completed_work_items
                if result.test_outcome is TestOutcome.SURVIVED
                and (
                    item.mutations[0].operator_name,
                    item.mutations[0].occurrence,
                    item.mutations[0].start_pos[0],
                )
                not in reviewed
            ]
        else:
            pending = list(db.pending_work_items)
        for number, item in enumerate(pending, start=1):
            (mutation,) = item.mutations
            function = dead.get(mutation.start_pos[0])
            if function is not None:
                db.set_result(
                    item.job_id,
                    WorkResult(
                        worker_outcome=WorkerOutcome.NORMAL,
                        output=f"{NEVER_RUN}: {function}",
                        test_outcome=TestOutcome.SURVIVED,
                    ),
                )
                continue
            operator = get_operator(mutation.operator_name)(**(mutation.operator_args or {}))
            code = mutate_code(source, operator, mutation.occurrence)
            if code is None:
                db.set_result(item.job_id, WorkResult(worker_outcome=WorkerOutcome.NO_TEST))
                continue
            killed, message = _mutant_verdict(cases, module, code)
            diff = "\n".join(
                [
                    "--- mutation diff ---",
                    *difflib.unified_diff(
                        source.split("\n"),
                        code.split("\n"),
                        fromfile=f"a/refimpl/{module}.py",
                        tofile=f"b/refimpl/{module}.py",
                        lineterm="",
                    ),
                ]
            )
            outcome = TestOutcome.KILLED if killed else TestOutcome.SURVIVED
            db.set_result(
                item.job_id,
                WorkResult(
                    worker_outcome=WorkerOutcome.NORMAL,
                    output=message,
                    test_outcome=outcome,
                    diff=diff,
                ),
            )
            if number % 25 == 0 or number == len(pending):
                print(f"mutation: {module}: {number} of {len(pending)} run", flush=True)


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
    config = tree.parent / "cosmic-ray.toml"
    config.write_text(
        "[cosmic-ray]\n"
        f'module-path = "refimpl/{module}.py"\n'
        f"timeout = {PER_MUTANT_TIMEOUT_S}\n"
        "excluded-modules = []\n"
        f'test-command = "{_test_command(module)}"\n'
        "[cosmic-ray.distributor]\n"
        'name = "local"\n'
    )
    session = tree.parent / "session.sqlite"
    subprocess.run([_cosmic_ray(), "init", str(config), str(session)], cwd=tree, check=True)
    source = (tree / "refimpl" / f"{module}.py").read_text()
    (tree.parent / "source.py").write_text(source)  # what the session's mutants are made from
    _skip_annotations(session, source)
    return resume_module(module)


def resume_module(module: str, *, survivors: bool = False) -> list[dict[str, Any]]:
    """Run the mutants of the module's session that have no result yet (all, after init; the
    rest, after an interrupted run), or with ``survivors`` those that survived (after cases
    were added: a kill stands, since the corpus only grew), then collect every outcome."""
    session = WORK / module / "session.sqlite"
    if not session.exists():
        raise SystemExit(f"mutation: no session to resume for {module}: `run` it first")
    source = (ROOT / "refimpl" / f"{module}.py").read_text()
    if (WORK / module / "source.py").read_text() != source:
        raise SystemExit(f"mutation: refimpl/{module}.py changed since its session: `run` it")
    execute_session(module, session, source, survivors=survivors)
    return collect(module)


def _skip_annotations(session: Path, source: str) -> None:
    """Mark the mutants inside annotations as skipped, so that no time goes on running them."""
    from cosmic_ray.work_db import WorkDB, use_db
    from cosmic_ray.work_item import WorkerOutcome, WorkResult

    spans = [(tuple(a), tuple(b)) for a, b in annotation_spans(source)]
    with use_db(str(session), WorkDB.Mode.open) as db:
        skipped = [
            item.job_id
            for item in db.work_items
            if any(a <= tuple(item.mutations[0].start_pos) < b for a, b in spans)
        ]
        db.set_multiple_results(skipped, WorkResult(worker_outcome=WorkerOutcome.SKIPPED))


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
        elif result["worker_outcome"] == "skipped":
            outcome = "skipped"  # inside an annotation: equivalent, never run
        elif result["worker_outcome"] != "normal":
            outcome = "incompetent"
        else:
            outcome = result["test_outcome"]
        never = outcome == "survived" and (result or {}).get("output", "").startswith(NEVER_RUN)
        mutants.append(
            {
                "never_run": never,
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


OUTSIDE_PREFIX = "unreachable from the corpus"


def _is_outside(reason: str) -> bool:
    return reason.startswith(OUTSIDE_PREFIX)


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
        "| module | mutants | killed | equivalent | outside the corpus | survived | score |",
        "|---|---|---|---|---|---|---|",
    ]
    details: list[str] = []
    for module in POLICY_MODULES:
        path = RESULTS_DIR / f"{module}.json"
        if not path.exists():
            lines.append(f"| {module} | not run yet | | | | | |")
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
        reviewed = [m for m in mutants if m["outcome"] != "killed" and _mutant_key(m) in reasons]
        # Code no case can reach (an alternative selectable only from Python) is neither
        # equivalent nor a corpus gap; counted apart so the equivalent column stays honest.
        outside = [m for m in reviewed if _is_outside(reasons[_mutant_key(m)])]
        equivalent = [m for m in reviewed if not _is_outside(reasons[_mutant_key(m)])]
        survived = [
            m for m in mutants if m["outcome"] != "killed" and _mutant_key(m) not in reasons
        ]
        relevant = len(mutants) - len(equivalent) - len(outside)
        score = f"{100 * len(killed) / relevant:.1f}%" if relevant else "n/a"
        name = f"{module} (partial: {len(pending)} more not run yet)" if pending else module
        if stale:  # lines and verdicts belong to the source measured, not to today's
            name += f" (stale: refimpl/{module}.py changed since; re-run)"
        lines.append(
            f"| {name} | {len(mutants)} | {len(killed)} | {len(equivalent)} | "
            f"{len(outside)} | {len(survived)} | {score} |"
        )
        if reviewed or survived:
            details += ["", f"## {module}", ""]
            for m in outside:
                details.append(
                    f"- outside the corpus: line {m['line']} `{m['operator']}` "
                    f"#{m['occurrence']} ({m['function']}): {reasons[_mutant_key(m)]}"
                )
            for m in equivalent:
                details.append(
                    f"- equivalent: line {m['line']} `{m['operator']}` #{m['occurrence']} "
                    f"({m['function']}): {reasons[_mutant_key(m)]}"
                )
            for m in survived:
                unrun = " (never run: the corpus never calls it)" if m.get("never_run") else ""
                details.append(
                    f"- {m['outcome']}: line {m['line']} `{m['operator']}` #{m['occurrence']} "
                    f"({m['function']}){unrun}"
                )
    lines.append("")
    lines.append(
        "Score = killed / (mutants - equivalent - outside the corpus). Outside the corpus: "
        "code no case can reach (an alternative selectable only from Python, tested by "
        "tests/refimpl), neither equivalent nor a gap a new case could close."
    )
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
    # resume: run only the mutants of an interrupted run's session that have no result yet.
    # recheck: run the unreviewed survivors of a finished session again, after cases were
    # added (only added: after a case changed or went, `run` again).
    # corpus: the test command Cosmic Ray runs per mutant (in the copy of the tree).
    commands = ("run", "resume", "recheck", "report", "collect", "corpus")
    parser.add_argument("command", choices=commands)
    parser.add_argument("modules", nargs="*", help=f"default: {' '.join(POLICY_MODULES)}")
    args = parser.parse_args(argv)
    modules: list[str] = args.modules or list(POLICY_MODULES)
    unknown = sorted(set(modules) - set(POLICY_MODULES))
    if unknown:
        print(f"mutation: unknown module(s) {', '.join(unknown)}", file=sys.stderr)
        return 2
    if args.command == "corpus":
        if len(args.modules) != 1:
            print("mutation: corpus takes exactly one module", file=sys.stderr)
            return 2
        return run_corpus(args.modules[0])
    if args.command in ("run", "resume", "recheck"):
        if not Path(_cosmic_ray()).exists():  # installed by `make mutation` only
            print(
                f"mutation: Cosmic Ray is not installed ({_cosmic_ray()}): run `make mutation`",
                file=sys.stderr,
            )
            return 2
        RESULTS_DIR.mkdir(parents=True, exist_ok=True)
        for module in modules:
            source = (ROOT / "refimpl" / f"{module}.py").read_text()  # what the copy mutates
            if args.command == "run":
                mutants = run_module(module)
            else:
                mutants = resume_module(module, survivors=args.command == "recheck")
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
            _record_source(module, (WORK / module / "source.py").read_text())  # the session's
    REPORT.write_text(render_report())
    update_readme()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
