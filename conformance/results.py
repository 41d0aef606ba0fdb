"""Case results, and the expectations file of known failures (in the manner of WPT metadata).

A result is PASS, FAIL, ERROR or SKIPPED.  An expectations file lists the
cases an implementation is known to fail, each with the result it gets, a
reason and a source link (an issue, a commit, a spec section)::

    {
      "implementation": "refimpl",
      "known_failures": [
        {"case": "pf-...", "result": "fail", "reason": "...", "link": "https://..."}
      ]
    }

A result is *unexpected* (CONF-6) when it is FAIL or ERROR and not listed with
that result, or when it is PASS but listed as a known failure (so a fixed bug
forces its entry out of the file).  SKIPPED is unexpected only when the run
requires every case to run (``run --require-all``, used for the reference
adapter, which lacks nothing); otherwise the adapter said it lacks what the case
needs.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import attrs

from conformance import wire
from conformance.cases import Case
from conformance.errors import CaseError, JsonPath, WireError
from spec.trace import Step, Violation


class Outcome(enum.Enum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"
    SKIPPED = "skipped"


@attrs.frozen
class KnownFailure:
    case: str
    result: Outcome
    reason: str
    link: str


@attrs.frozen
class CaseResult:
    """What running one case gave."""

    case: Case
    outcome: Outcome
    message: str = ""
    step: int | None = None  # the case step (0-based) where it failed or errored
    violations: tuple[Violation, ...] = ()
    stderr_tail: str = ""
    duration: float = 0.0
    trace: tuple[Step, ...] = attrs.field(default=(), repr=False, eq=False)
    known: KnownFailure | None = None
    required: bool = False  # the run requires the case to run: SKIPPED is unexpected

    @property
    def unexpected(self) -> bool:
        """CONF-6: failures not listed as known, and passes of listed ones."""
        if self.outcome is Outcome.SKIPPED:
            return self.required
        if self.known is not None:
            return self.outcome is not self.known.result
        return self.outcome is not Outcome.PASS

    @property
    def requirements(self) -> tuple[str, ...]:
        """The case's requirements, then those its violations name."""
        extra = [v.requirement for v in self.violations]
        return tuple(dict.fromkeys([*self.case.requirements, *extra]))


_LINK = re.compile(r"^[a-z][a-z0-9+.-]*://\S+$")


@attrs.frozen
class Expectations:
    """Known failures, by case ID."""

    implementation: str = ""
    known: Mapping[str, KnownFailure] = attrs.field(factory=dict)
    source: str = ""

    def apply(self, results: Iterable[CaseResult]) -> list[CaseResult]:
        return [attrs.evolve(r, known=self.known.get(r.case.id)) for r in results]

    def check_cases(self, cases: Iterable[Case]) -> None:
        """A listed case that does not exist is a stale entry: say which."""
        stale = sorted(set(self.known) - {c.id for c in cases})
        if stale:
            raise CaseError(f"{self.source}: known failures name unknown cases: {stale}")


def expectations_from_json(value: wire.JsonValue, source: str = "") -> Expectations:
    obj = wire.expect_object(value, ())
    wire.check_keys(obj, (), frozenset({"known_failures"}), frozenset({"implementation"}))
    implementation = wire.expect_str(obj.get("implementation", ""), ("implementation",))
    known: dict[str, KnownFailure] = {}
    items = wire.expect_list(obj["known_failures"], ("known_failures",))
    for i, item in enumerate(items):
        path: JsonPath = ("known_failures", i)
        entry = wire.expect_object(item, path)
        wire.check_keys(entry, path, frozenset({"case", "result", "reason", "link"}), frozenset())
        case_id = wire.expect_str(entry["case"], (*path, "case"))
        if case_id in known:
            raise WireError((*path, "case"), f"{case_id!r} is listed twice")
        result = wire.expect_str(entry["result"], (*path, "result"))
        if result not in (Outcome.FAIL.value, Outcome.ERROR.value):
            raise WireError((*path, "result"), f"expected 'fail' or 'error', got {result!r}")
        reason = wire.expect_str(entry["reason"], (*path, "reason"))
        if not reason.strip():
            raise WireError((*path, "reason"), "say why the case fails")
        link = wire.expect_str(entry["link"], (*path, "link"))
        if not _LINK.match(link):
            raise WireError((*path, "link"), f"expected a URL to the source, got {link!r}")
        known[case_id] = KnownFailure(case_id, Outcome(result), reason, link)
    return Expectations(implementation, known, source)


def load_expectations(path: Path) -> Expectations:
    """Load an expectations file; errors name the file and line."""
    expectations, _ = wire.load_json_file(
        path, lambda data: expectations_from_json(data, str(path))
    )
    return expectations
