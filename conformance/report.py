"""Reports of a run: a terminal report grouped by policy and requirement, JSON, JUnit XML.

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
        "known_failures": sum(1 for r in results if r.known is not None and not r.unexpected),
        "unexpected": sum(1 for r in results if r.unexpected),
    }


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
) -> str:
    """The human report: per policy, each case; then per requirement, the tally."""
    lines = []
    who = f"against {hello.implementation}" if hello is not None else ""
    if results and hello is None:
        who = "(no adapter answered)"
    lines.append(
        f"conformance protocol v{protocol.PROTOCOL_VERSION}: {len(results)} cases {who}".rstrip()
    )
    by_policy: dict[str, list[CaseResult]] = collections.defaultdict(list)
    for r in results:
        by_policy[r.case.policy].append(r)
    width = max((len(r.case.id) for r in results), default=10)
    for policy in sorted(by_policy):
        lines.append("")
        lines.append(policy)
        for r in by_policy[policy]:
            mark = "!" if r.unexpected else " "
            label = LABEL[r.outcome]
            if r.known is not None and not r.unexpected:
                label += " (known)"
            lines.append(f" {mark}{label:<13}{r.case.id:<{width}}  {r.case.title}")
            show = r.outcome in (Outcome.FAIL, Outcome.ERROR) or verbose
            if r.outcome is Outcome.SKIPPED and show:
                lines.extend(_indent(r.message, " " * 16))
            elif show and r.outcome is not Outcome.PASS:
                lines.extend(_indent(r.message, " " * 16))
                lines.extend(_indent("\n".join(str(v) for v in r.violations), " " * 18))
                if r.known is not None:
                    lines.append(" " * 16 + f"known failure: {r.known.reason} <{r.known.link}>")
                if r.stderr_tail:
                    lines.append(" " * 16 + "adapter stderr (tail):")
                    lines.extend(_indent(r.stderr_tail, " " * 18 + "| "))
    lines.append("")
    lines.extend(render_option_skips(results, hello))
    lines.append("")
    lines.append("by requirement")
    tally: dict[str, collections.Counter[Outcome]] = collections.defaultdict(collections.Counter)
    for r in results:
        for req in r.requirements:
            tally[req][r.outcome] += 1
    for req in sorted(tally, key=_requirement_order):
        parts = [f"{n} {o.value}" for o, n in tally[req].items() if n]
        lines.append(f"  {req:<10}{', '.join(sorted(parts))}")
    lines.append("")
    lines.append(f"{closing_line(results)} in {seconds:.2f} s")
    return "\n".join(lines) + "\n"


def skipped_by_spec_option(
    results: Sequence[CaseResult], hello: protocol.Hello | None
) -> dict[str, dict[str, int]]:
    """Per spec option, how many skipped cases were written for a value the adapter lacks.

    Key -> {the case's value -> count}; a case counts once per option it was skipped
    for.  Every option of the registry (spec/options.py) is present, with zero
    counts when nothing was skipped for it, so the report shows each option.
    """
    from spec.options import OPTIONS  # the runner's side; spec/ imports nothing from here

    declared = dict(hello.capabilities.spec_options) if hello is not None else {}
    table: dict[str, dict[str, int]] = {key: {} for key in sorted(OPTIONS)}
    for r in results:
        if r.outcome is not Outcome.SKIPPED:
            continue
        for key, value in r.case.spec_options:
            if declared.get(key) != value:
                row = table.setdefault(key, {})
                row[value] = row.get(value, 0) + 1
    return table


def render_option_skips(results: Sequence[CaseResult], hello: protocol.Hello | None) -> list[str]:
    """The terminal report's "skipped by spec option" section (never invisible, issue 14)."""
    declared = dict(hello.capabilities.spec_options) if hello is not None else {}
    lines = ["skipped by spec option (the adapter's value -> cases written for another)"]
    for key, row in skipped_by_spec_option(results, hello).items():
        mine = declared.get(key, "no value")
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
    """A one-line progress display on a terminal (nothing when not a terminal)."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.enabled = stream.isatty()

    def __call__(self, done: int, total: int, result: CaseResult) -> None:
        if self.enabled:
            text = (
                f"[{done:>{len(str(total))}}/{total}] {LABEL[result.outcome]:<5} {result.case.id}"
            )
            self.stream.write("\r\x1b[K" + text)
            self.stream.flush()

    def clear(self) -> None:
        if self.enabled:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


def to_json(
    results: Sequence[CaseResult], hello: protocol.Hello | None, seconds: float
) -> dict[str, Any]:
    """The machine-readable report (conformance/schema/report.schema.json)."""
    implementation = None
    if hello is not None:
        impl = hello.implementation
        implementation = {
            "name": impl.name,
            "version": impl.version,
            "language": impl.language,
            "homepage": impl.homepage,
        }
    return {
        "protocol": protocol.PROTOCOL_VERSION,
        "implementation": implementation,
        "seconds": round(seconds, 3),
        "summary": summary(results),
        "spec_options": dict(hello.capabilities.spec_options) if hello is not None else {},
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
                "step": r.step,
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


def to_junit(results: Sequence[CaseResult], seconds: float) -> str:
    """JUnit XML, one testsuite per policy."""
    root = ET.Element("testsuites", name="conformance", time=f"{seconds:.3f}")
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
                time=f"{r.duration:.4f}",
            )
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
            elif r.outcome is Outcome.SKIPPED:
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=r.message)
        for key in ("tests", "failures", "errors", "skipped"):
            suite.set(key, str(counts[key]))
            totals[key] += counts[key]
        suite.set("time", f"{sum(r.duration for r in by_policy[policy]):.3f}")
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(totals[key]))
    ET.indent(root)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _first_line(text: str) -> str:
    return text.splitlines()[0] if text else ""


def _stderr_block(tail: str) -> list[str]:
    return ["adapter stderr (tail):", tail] if tail else []
