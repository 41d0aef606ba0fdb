"""Reports of a run: a terminal report (per policy; failures last), JSON, JUnit XML.

The JSON report follows ``conformance/schema/report.schema.json``.  In JUnit
XML each policy is a ``testsuite`` and each case a ``testcase``; a known
failure is reported as skipped with its reason and link, an unexpected pass
of a known failure as a failure, so CI dashboards show exactly what the exit
status says.
"""

from __future__ import annotations

import collections
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from typing import Any, TextIO

from conformance import protocol
from conformance.cases import Case
from conformance.results import CaseResult, Outcome

LABEL = {
    Outcome.PASS: "PASS",
    Outcome.FAIL: "FAIL",
    Outcome.ERROR: "ERROR",
    Outcome.SKIPPED: "SKIP",
}


def summary(results: Sequence[CaseResult]) -> dict[str, int]:
    counts = collections.Counter(r.outcome for r in results)
    return {
        "total": len(results),
        "passed": counts[Outcome.PASS],
        "failed": counts[Outcome.FAIL],
        "errored": counts[Outcome.ERROR],
        "skipped": counts[Outcome.SKIPPED],
        "known_failures": sum(1 for r in results if _known_and_seen(r)),
        "unexpected": sum(1 for r in results if r.unexpected),
    }


def _known_and_seen(r: CaseResult) -> bool:
    """A known failure that failed as listed; not one whose case this run skipped."""
    return r.known is not None and not r.unexpected and r.outcome is not Outcome.SKIPPED


def stale_known_failures(results: Sequence[CaseResult]) -> list[str]:
    """The cases this run skipped that the expectations list as failures.  Not unexpected
    (a file may serve runs that differ in what they skip), but said: an entry nobody runs
    is a check nobody makes."""
    return [r.case.id for r in results if r.known is not None and r.outcome is Outcome.SKIPPED]


def closing_line(results: Sequence[CaseResult]) -> str:
    s = summary(results)
    return (
        f"{s['passed']} passed, {s['failed']} failed, {s['errored']} errored, "
        f"{s['skipped']} skipped ({s['known_failures']} known failures, "
        f"{s['unexpected']} unexpected)"
    )


def _indent(text: str, prefix: str) -> list[str]:
    return [prefix + line for line in text.splitlines()]


def render_terminal(
    results: Sequence[CaseResult],
    hello: protocol.Hello | None,
    seconds: float,
    *,
    verbose: bool = False,
    tally: bool = False,
    quiet: bool = False,
    interrupted: bool = False,
) -> str:
    """The human report: per policy, one line per case; the per-requirement tally when
    asked for (``tally``); then what went wrong, unexpected results last, just above the
    closing line, so that they are what a terminal shows.  ``quiet`` leaves out the
    per-case lines and the details of expected results."""
    lines = []
    who = f"against {hello.implementation}" if hello is not None else ""
    if results and hello is None:
        who = "(no adapter answered)"
    if interrupted:  # the run stopped before the adapter's handshake could be reported
        who = "(interrupted)" if hello is None else f"{who} (interrupted)"
    lines.append(
        f"conformance protocol v{protocol.PROTOCOL_VERSION}: {len(results)} cases {who}".rstrip()
    )
    width = max((len(r.case.id) for r in results), default=10)
    if not quiet:
        by_policy: dict[str, list[CaseResult]] = collections.defaultdict(list)
        for r in results:
            by_policy[r.case.policy].append(r)
        for policy in sorted(by_policy):
            lines.append("")
            lines.append(policy)
            lines.extend(_case_line(r, width) for r in by_policy[policy])
    if tally:
        lines.extend(["", "by requirement", *_tally(results)])
    shown = [r for r in results if _has_details(r, verbose=verbose and not quiet)]
    if quiet:
        shown = [r for r in shown if r.unexpected]
    expected_first = sorted(shown, key=lambda r: r.unexpected)  # stable: run order within
    if expected_first:
        lines.append("")
        lines.append("details (unexpected results last)")
        for r in expected_first:
            lines.append(_case_line(r, width))
            lines.extend(_details(r))
    lines.append("")
    lines.extend(render_option_skips(results, hello))
    stale = stale_known_failures(results)
    if stale:
        lines.append(
            f"stale expectations: {len(stale)} known failure(s) name cases this run skipped "
            f"(take them out unless another run fails them): {', '.join(stale)}"
        )
    lines.append("")
    lines.append(f"{closing_line(results)} in {seconds:.2f} s")
    return "\n".join(lines) + "\n"


def _case_line(r: CaseResult, width: int) -> str:
    mark = "!" if r.unexpected else " "
    label = LABEL[r.outcome]
    if _known_and_seen(r):
        label += " (known)"
    return f" {mark}{label:<13}{r.case.id:<{width}}  {r.case.title}"


def _has_details(r: CaseResult, *, verbose: bool) -> bool:
    if r.outcome in (Outcome.FAIL, Outcome.ERROR) or r.unexpected:
        return True
    return verbose and r.outcome is Outcome.SKIPPED


def _details(r: CaseResult) -> list[str]:
    lines = _indent(r.message, " " * 16)
    if r.outcome is Outcome.SKIPPED:
        if r.required:
            lines.append(" " * 16 + "--require-all: every case must run against this adapter")
        return lines
    if r.outcome is Outcome.PASS and r.known is not None:
        lines.append(" " * 16 + "passed, but is listed as a known failure: remove the entry")
    lines.extend(_indent("\n".join(str(v) for v in r.violations), " " * 18))
    if r.known is not None:
        lines.append(" " * 16 + f"known failure: {r.known.reason} <{r.known.link}>")
    if r.stderr_tail:
        lines.append(" " * 16 + "adapter stderr (tail):")
        lines.extend(_indent(r.stderr_tail, " " * 18 + "| "))
    return lines


def _tally(results: Sequence[CaseResult]) -> list[str]:
    tally: dict[str, collections.Counter[Outcome]] = collections.defaultdict(collections.Counter)
    for r in results:
        for req in r.requirements:
            tally[req][r.outcome] += 1
    lines = []
    for req in sorted(tally, key=_requirement_order):
        parts = [f"{n} {o.value}" for o, n in tally[req].items() if n]
        lines.append(f"  {req:<10}{', '.join(sorted(parts))}")
    return lines


def skipped_by_spec_option(
    results: Sequence[CaseResult], hello: protocol.Hello | None
) -> dict[str, dict[str, int]]:
    """Per spec option, how many skipped cases were written for values the adapter lacks.

    Key -> {the case's value -> count}; a case written for several values counts under
    them joined by " or ".  A case counts once per option it was skipped for.  Every
    option of the registry (spec/options.py) is present, with zero counts when nothing
    was skipped for it, so the report shows each option.
    """
    from conformance.monitors import spec_option_default
    from spec.options import OPTIONS  # the runner's side; spec/ imports nothing from here

    table: dict[str, dict[str, int]] = {key: {} for key in sorted(OPTIONS)}
    for r in results:
        if r.outcome is not Outcome.SKIPPED:
            continue
        chosen = hello.capabilities.options_for(r.case) if hello is not None else {}
        for key, values in r.case.written_for.items():
            if chosen.get(key, spec_option_default(key)) not in values:
                row = table.setdefault(key, {})
                label = " or ".join(values)
                row[label] = row.get(label, 0) + 1
    return table


def render_option_skips(results: Sequence[CaseResult], hello: protocol.Hello | None) -> list[str]:
    """The terminal report's "skipped by spec option" section (never invisible, issue 14)."""
    declared = dict(hello.capabilities.spec_options) if hello is not None else {}
    lines = ["skipped by spec option (the adapter's value -> cases written for another)"]
    configurable = dict(hello.capabilities.configurable_options) if hello is not None else {}
    for key, row in skipped_by_spec_option(results, hello).items():
        mine = declared.get(key, "no value")
        if key in configurable:
            mine = "/".join(configurable[key]) + " per case"
        if row:
            other = ", ".join(f"{n} for {v}" for v, n in sorted(row.items()))
            lines.append(f"  {key:<44}{mine}: {sum(row.values())} skipped ({other})")
        else:
            lines.append(f"  {key:<44}{mine}: 0 skipped")
    return lines


def _requirement_order(req: str) -> tuple[str, int]:
    area, _, number = req.partition("-")
    return (area, int(number) if number.isdigit() else 0)


class Progress:
    """What a run shows while it runs, on ``stream``.

    On a terminal, one status line rewritten in place: the case now running, then its
    result; unexpected results stay on screen as they come.  Elsewhere (a CI log, a pipe)
    one line per finished case, flushed at once.  ``enabled=False`` shows nothing.
    """

    def __init__(self, stream: TextIO, *, enabled: bool = True) -> None:
        self.stream = stream
        self.enabled = enabled
        self.terminal = stream.isatty()

    def starting(self, number: int, total: int, case: Case) -> None:
        if self.enabled and self.terminal:
            self.stream.write(f"\r\x1b[K[{number:>{len(str(total))}}/{total}] {case.id} ...")
            self.stream.flush()

    def __call__(self, done: int, total: int, result: CaseResult) -> None:
        if not self.enabled:
            return
        text = f"[{done:>{len(str(total))}}/{total}] {LABEL[result.outcome]:<5} {result.case.id}"
        if result.unexpected:
            text += f"  {_first_line(result.message)}".rstrip()
        if not self.terminal:
            self.stream.write(text + "\n")
        elif result.unexpected:
            self.stream.write("\r\x1b[K" + text + "\n")
        else:
            self.stream.write("\r\x1b[K" + text)
        self.stream.flush()

    def clear(self) -> None:
        if self.enabled and self.terminal:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def to_json(
    results: Sequence[CaseResult],
    hello: protocol.Hello | None,
    seconds: float,
    *,
    timings: bool = True,
) -> dict[str, Any]:
    """The machine-readable report (conformance/schema/report.schema.json).

    ``timings=False`` leaves out the wall-clock ``seconds`` fields, the only part of a
    report that differs between two runs of an adapter with virtual time and seeded
    randomness: what is left is byte-identical run to run (``run --no-timings``).
    """
    implementation = None
    if hello is not None:
        impl = hello.implementation
        implementation = {
            "name": impl.name,
            "version": impl.version,
            "language": impl.language,
            "homepage": impl.homepage,
        }
    report: dict[str, Any] = {
        "protocol": protocol.PROTOCOL_VERSION,
        "implementation": implementation,
        "seconds": round(seconds, 3),
        "summary": summary(results),
        "spec_options": dict(hello.capabilities.spec_options) if hello is not None else {},
        "configurable_options": (
            {k: list(v) for k, v in hello.capabilities.configurable_options}
            if hello is not None
            else {}
        ),
        "skipped_by_spec_option": skipped_by_spec_option(results, hello),
        "results": [
            {
                "id": r.case.id,
                "title": r.case.title,
                "area": r.case.area,
                "policy": r.case.policy,
                "requirements": list(r.requirements),
                "outcome": r.outcome.value,
                "unexpected": r.unexpected,
                "message": r.message,
                "step": None if r.step is None else r.step + 1,  # case steps count from 1
                "violations": [
                    {"requirement": v.requirement, "step": v.step, "message": v.message}
                    for v in r.violations
                ],
                "stderr_tail": r.stderr_tail,
                "seconds": round(r.duration, 4),
                "known_failure": None
                if r.known is None
                else {
                    "result": r.known.result.value,
                    "reason": r.known.reason,
                    "link": r.known.link,
                },
            }
            for r in results
        ],
    }
    if not timings:
        del report["seconds"]
        for entry in report["results"]:
            del entry["seconds"]
    return report


def to_junit(results: Sequence[CaseResult], seconds: float, *, timings: bool = True) -> str:
    """JUnit XML, one testsuite per policy (no ``time`` attributes with ``timings=False``)."""
    root = ET.Element("testsuites", name="conformance")
    if timings:
        root.set("time", f"{seconds:.3f}")
    by_policy: dict[str, list[CaseResult]] = collections.defaultdict(list)
    for r in results:
        by_policy[r.case.policy].append(r)
    totals = collections.Counter[str]()
    for policy in sorted(by_policy):
        suite = ET.SubElement(root, "testsuite", name=policy)
        counts = collections.Counter[str]()
        for r in by_policy[policy]:
            counts["tests"] += 1
            case = ET.SubElement(
                suite,
                "testcase",
                name=r.case.id,
                classname=f"conformance.{r.case.area}",
            )
            if timings:
                case.set("time", f"{r.duration:.4f}")
            detail = "\n".join(
                [r.message, *(str(v) for v in r.violations), *_stderr_block(r.stderr_tail)]
            )
            requirements = "requirements: " + ", ".join(r.requirements)
            if r.known is not None and not r.unexpected:
                counts["skipped"] += 1
                ET.SubElement(
                    case, "skipped", message=f"known failure: {r.known.reason} ({r.known.link})"
                ).text = detail
            elif r.outcome is Outcome.PASS and r.known is not None:
                counts["failures"] += 1
                ET.SubElement(
                    case,
                    "failure",
                    message="passed, but is listed as a known failure",
                    type="XPASS",
                ).text = f"{r.known.reason} ({r.known.link})"
            elif r.outcome is Outcome.FAIL:
                counts["failures"] += 1
                ET.SubElement(case, "failure", message=_first_line(r.message), type="FAIL").text = (
                    detail + "\n" + requirements
                )
            elif r.outcome is Outcome.ERROR:
                counts["errors"] += 1
                ET.SubElement(
                    case, "error", message=_first_line(r.message), type="ERROR"
                ).text = detail
            elif r.outcome is Outcome.SKIPPED and r.required:
                counts["failures"] += 1
                ET.SubElement(
                    case,
                    "failure",
                    message=f"skipped under --require-all: {r.message}",
                    type="SKIP",
                )
            elif r.outcome is Outcome.SKIPPED:
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=r.message)
        for key in ("tests", "failures", "errors", "skipped"):
            suite.set(key, str(counts[key]))
            totals[key] += counts[key]
        if timings:
            suite.set("time", f"{sum(r.duration for r in by_policy[policy]):.3f}")
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(totals[key]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def _stderr_block(tail: str) -> list[str]:
    return ["adapter stderr (tail):", tail] if tail else []
