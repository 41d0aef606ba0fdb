"""The expectations file: known failures are expected, fixed ones and new ones are not (CONF-6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cases import load_cases
from conformance.errors import CaseError, WireError
from conformance.results import (
    CaseResult,
    Expectations,
    KnownFailure,
    Outcome,
    expectations_from_json,
    load_expectations,
)
from tests.conformance.helpers import ROOT, A, make_case, schema_errors, update

CASE = make_case({"steps": [{"input": update(A)}]})
LINK = "https://github.com/grpc/grpc-go/issues/7862"


def result(outcome: Outcome, known: Outcome | None = None) -> CaseResult:
    expectations = Expectations(
        known={} if known is None else {CASE.id: KnownFailure(CASE.id, known, "why", LINK)}
    )
    [applied] = expectations.apply([CaseResult(CASE, outcome)])
    return applied


@pytest.mark.req("CONF-6")
@pytest.mark.parametrize(
    ("outcome", "known", "unexpected"),
    [
        (Outcome.PASS, None, False),
        (Outcome.SKIPPED, None, False),
        (Outcome.FAIL, None, True),
        (Outcome.ERROR, None, True),
        (Outcome.FAIL, Outcome.FAIL, False),
        (Outcome.ERROR, Outcome.ERROR, False),
        (Outcome.ERROR, Outcome.FAIL, True),  # a different failure is news
        (Outcome.PASS, Outcome.FAIL, True),  # fixed: take it out of the file
        (Outcome.SKIPPED, Outcome.FAIL, False),
    ],
)
def test_which_results_are_unexpected(
    outcome: Outcome, known: Outcome | None, unexpected: bool
) -> None:
    assert result(outcome, known).unexpected is unexpected


def test_the_refimpl_expectations_file_is_valid() -> None:
    path = ROOT / "conformance" / "expectations" / "refimpl.json"
    assert schema_errors("expectations", json.loads(path.read_text())) == []
    load_expectations(path).check_cases(load_cases())


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ({"case": "pf-x", "result": "pass", "reason": "r", "link": LINK}, "'fail' or 'error'"),
        ({"case": "pf-x", "result": "fail", "reason": " ", "link": LINK}, "say why"),
        ({"case": "pf-x", "result": "fail", "reason": "r", "link": "see chat"}, "a URL"),
        ({"case": "pf-x", "result": "fail", "reason": "r"}, "missing key 'link'"),
    ],
)
def test_bad_entries_are_refused_by_loader_and_schema(entry: dict[str, str], problem: str) -> None:
    data = {"known_failures": [entry]}
    with pytest.raises(WireError, match=problem):
        expectations_from_json(data)
    assert schema_errors("expectations", data) != []


def test_errors_in_the_file_name_its_line(tmp_path: Path) -> None:
    path = tmp_path / "known.json"
    path.write_text(
        '{\n  "known_failures": [\n    {"case": "pf-x", "result": "flaky",\n'
        '     "reason": "r", "link": "https://x.org"}\n  ]\n}\n'
    )
    with pytest.raises(WireError, match=r"known.json:3: \$.known_failures\[0\].result"):
        load_expectations(path)


def test_entries_for_cases_that_do_not_exist_are_stale() -> None:
    expectations = expectations_from_json(
        {"known_failures": [{"case": "pf-gone", "result": "fail", "reason": "r", "link": LINK}]},
        "known.json",
    )
    with pytest.raises(CaseError, match="pf-gone"):
        expectations.check_cases([CASE])
