"""Every committed expectations file is well-formed and names only real cases (CONF-6).

The grpc-go file is read by `make conformance-grpc-go`, which needs Go, and the
two grpc-java files by `make conformance-grpc-java`, which needs Java and Maven;
this test keeps them honest in `make check`, which needs neither.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conformance.cases import load_cases
from conformance.results import load_expectations

EXPECTATIONS = Path(__file__).resolve().parents[2] / "conformance" / "expectations"


@pytest.mark.req("CONF-6")
@pytest.mark.parametrize("name", sorted(p.name for p in EXPECTATIONS.glob("*.json")))
def test_expectations_file_is_valid_and_current(name: str) -> None:
    expectations = load_expectations(EXPECTATIONS / name)
    expectations.check_cases(load_cases())  # raises, naming stale entries
    for known in expectations.known.values():
        assert known.reason.strip()
        assert known.link.startswith("https://")


# Each expectations file and the committed report of the run that reads it (Makefile).
REPORT_OF = {
    "grpc-go.json": "grpc-go.json",
    "grpc-java-leaf.json": "grpc-java.json",
    "grpc-java-legacy.json": "grpc-java-legacy.json",
    "grpc-js.json": "grpc-js.json",
    "refimpl.json": "refimpl.json",
}


@pytest.mark.req("CONF-6")
@pytest.mark.parametrize("name", sorted(p.name for p in EXPECTATIONS.glob("*.json")))
def test_every_entry_matches_the_committed_report(name: str) -> None:
    """An entry whose case the last run skipped or passed is stale: the runner does not
    count a skipped known failure as unexpected, so nobody would see it otherwise."""
    report = json.loads((EXPECTATIONS.parent / "reports" / REPORT_OF[name]).read_text())
    outcomes = {r["id"]: r["outcome"] for r in report["results"]}
    expectations = load_expectations(EXPECTATIONS / name)
    stale = sorted(
        f"{case}: expected {known.result.value}, the report says {outcomes.get(case)}"
        for case, known in expectations.known.items()
        if outcomes.get(case) != known.result.value
    )
    assert not stale, f"{name}: stale entries: {stale}"
