"""docs/coverage.md: which cases check each MUST requirement, in which channel state.

``python -m conformance.coverage docs`` (part of ``make diagrams``) runs every
case against the reference, in-process, and records for each step that checks
something the state the policy had last reported when the step's input arrived
(IDLE before the first report), and whether the channel ran client-side health
checks.  A step checks the requirements it names itself; a step without any
checks its case's requirements when it has an expectation (or closes a repeat
block), and every step does in a case without expectations.  The page crosses
every MUST requirement (the suite's own CONF-* aside) with those states, each
cell naming its cases or saying "no case", and says which spec monitors can
report the requirement (they judge every case of their policy).  A second table
names, for every config field of pick_first, weighted_round_robin and
least_request_experimental, the cases that observe its effect.
``tests/conformance/test_coverage_page.py`` fails when the committed page is stale.
"""

from __future__ import annotations

import collections
import re
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

from conformance.adapters.inprocess import refimpl_transport
from conformance.cases import Case, CaseStep, load_cases
from conformance.runner import DEFAULT_STEP_TIMEOUT, AdapterSession, CaseRun
from spec import actions as act
from spec.catalogue import CATALOGUE, Level
from spec.connectivity import State

PAGE = "coverage.md"
MONITORS_DIR = Path(__file__).resolve().parents[1] / "spec" / "monitors"
STATES = (State.IDLE, State.CONNECTING, State.READY, State.TRANSIENT_FAILURE)
SHOWN = 2  # case IDs named per cell; the rest are counted

Cell = tuple[str, str, State, bool]  # requirement, policy, state before the step, health

# Every config field, and the cases that observe its effect (a case that merely sets a
# field is not enough: each of these fails when the field is ignored, mis-clamped or
# mis-defaulted, and most catch a planted bug that gets the field wrong).
CONFIG_FIELDS: tuple[tuple[str, str, str, tuple[str, ...]], ...] = (
    (
        "pick_first",
        "shuffleAddressList",
        "false",
        (
            "pf-shuffle-first-connection-uniform",
            "pf-shuffle-every-order-reachable",
            "pf-weighted-shuffle-first-connection-follows-weights",
            "pf-shuffle-disabled-keeps-resolver-order",
            "pf-config-wrong-type-fails-channel",
        ),
    ),
    (
        "weighted_round_robin",
        "enableOobLoadReport",
        "false",
        (
            "wrr-out-of-band-weights-split-picks",
            "wrr-per-call-reports-ignored-with-out-of-band",
            "wrr-per-call-reports-weight-their-endpoint",
        ),
    ),
    (
        "weighted_round_robin",
        "oobReportingPeriod",
        "10s",
        (),  # the protocol has no output carrying the interval a policy asks the stream for
    ),
    (
        "weighted_round_robin",
        "blackoutPeriod",
        "10s",
        ("wrr-blackout-delays-weights", "wrr-default-periods", "wrr-malformed-duration-rejected"),
    ),
    (
        "weighted_round_robin",
        "weightExpirationPeriod",
        "3m",
        ("wrr-weights-expire-without-reports", "wrr-default-periods"),
    ),
    (
        "weighted_round_robin",
        "weightUpdatePeriod",
        "1s (at least 100ms)",
        ("wrr-short-update-period-raised", "wrr-default-periods"),
    ),
    (
        "weighted_round_robin",
        "errorUtilizationPenalty",
        "1.0",
        (
            "wrr-error-rate-penalises-weight",
            "wrr-zero-error-penalty-ignores-errors",
            "wrr-negative-penalty-rejected",
        ),
    ),
    (
        "least_request_experimental",
        "choiceCount",
        "2 (10 at most)",
        (
            "lr-choice-count-defaults-to-two",
            "lr-choice-count-above-ten-clamped-to-ten",
            "lr-choice-count-below-two-rejected",
            "lr-choice-count-not-a-number-rejected",
        ),
    ),
)
NOT_OBSERVABLE = {
    "oobReportingPeriod": "not observable: the protocol has no output carrying the reporting "
    "interval a policy asks the out-of-band stream for",
}


def _checked(case: Case, step: CaseStep) -> tuple[str, ...]:
    if step.requirements:
        return step.requirements
    has_expectations = any(s.expect is not None or s.closes_block for s in case.steps)
    if step.expect is not None or step.closes_block or not has_expectations:
        return case.requirements
    return ()


def observe(cases: Iterable[Case]) -> dict[Cell, set[str]]:
    """Run each case in-process; the cases checking each (requirement, policy, state, health)."""
    cells: dict[Cell, set[str]] = collections.defaultdict(set)
    session = AdapterSession(refimpl_transport, DEFAULT_STEP_TIMEOUT)
    try:
        for case in cases:
            run = CaseRun(case, session)
            run.run()
            state = State.IDLE  # a channel starts IDLE; the policy has reported nothing
            for index, trace_step in enumerate(run.trace):
                step = case.steps[run.trace_step[index]]
                for requirement in _checked(case, step):
                    key = (requirement, case.policy, state, case.channel.health_checking)
                    cells[key].add(case.id)
                for output in trace_step.outputs:
                    if isinstance(output, act.UpdateState):
                        state = output.state
    finally:
        session.close()
    return cells


def monitored() -> dict[str, list[str]]:
    """Requirement -> the spec monitors whose source can report it."""
    found: dict[str, list[str]] = collections.defaultdict(list)
    for path in sorted(MONITORS_DIR.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        for requirement in sorted(set(re.findall(r'"([A-Z]+-[0-9]+)"', text))):
            found[requirement].append(path.stem)
    return found


def _cell(ids: set[str]) -> str:
    if not ids:
        return "no case"
    shown = sorted(ids)[:SHOWN]
    more = f" +{len(ids) - SHOWN}" if len(ids) > SHOWN else ""
    return "<br>".join(shown) + more


def render(cases: Sequence[Case] | None = None) -> str:
    cases = list(load_cases() if cases is None else cases)
    cells = observe(cases)
    monitors = monitored()
    musts = [r for r in CATALOGUE.values() if r.level is Level.MUST and r.area != "CONF"]
    header = ["requirement", "policy"]
    for health in (False, True):
        header += [f"{s.name}{' (health)' if health else ''}" for s in STATES]
    header.append("monitor")
    rows = []
    covered = 0
    empty = 0
    for requirement in musts:
        policies = sorted({p for (r, p, _, _) in cells if r == requirement.id})
        covered += bool(policies)
        for policy in policies or ["-"]:
            row = [requirement.id, policy]
            for health in (False, True):
                for state in STATES:
                    ids = cells.get((requirement.id, policy, state, health), set())
                    empty += not ids
                    row.append(_cell(ids))
            row.append(", ".join(monitors.get(requirement.id, [])) or "-")
            rows.append(row)
    by_id = {c.id: c for c in cases}
    lines = [
        "<!-- Generated by `make diagrams` (python -m conformance.coverage docs). Do not edit. -->",
        "",
        "# Coverage: requirements by channel state, and config fields",
        "",
        f"{covered} of {len(musts)} MUST requirements (CONF-* aside) are checked by at least "
        f"one of the {len(cases)} cases; {empty} of {len(rows) * 2 * len(STATES)} cells have "
        "no case. A cell names the cases with a step that checks the requirement while "
        "the policy's last reported state was that state (IDLE before any report), with "
        "client-side health checking off or on (health). Requirements checked only by "
        "pytest (BASE, HC, REG, RPC, most of CONN) show no case here. The last column "
        "names the spec monitors that can report the requirement: they judge every case of "
        "their policy, whatever the case cites.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + "---|" * len(header),
    ]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    lines += [
        "",
        "## Config fields and the cases that observe their effect",
        "",
        "| policy | field | default | cases |",
        "|---|---|---|---|",
    ]
    for policy, field, default, observers in CONFIG_FIELDS:
        missing = [i for i in observers if i not in by_id]
        if missing:
            raise SystemExit(f"coverage: {field}: no case {', '.join(missing)}")
        shown = ", ".join(observers) if observers else NOT_OBSERVABLE.get(field, "no case")
        lines.append(f"| {policy} | {field} | {default} | {shown} |")
    lines.append("| round_robin | (no fields) | | |")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    out = Path(args[0] if args else "docs")
    out.mkdir(parents=True, exist_ok=True)
    (out / PAGE).write_text(render(), encoding="utf-8")
    print(f"wrote {out / PAGE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
