"""docs/tour.md is generated from chosen cases with explain's narration, and is fresh."""

from __future__ import annotations

from pathlib import Path

from conformance.cases import load_cases
from conformance.explain import explain
from conformance.tour import PAGE, STOPS, render_all

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_committed_tour_is_fresh() -> None:
    committed = DOCS / PAGE
    assert committed.exists(), f"docs/{PAGE} is missing: run `make diagrams`"
    assert committed.read_text(encoding="utf-8") == render_all()[PAGE], (
        f"docs/{PAGE} is stale: run `make diagrams` and commit the result"
    )


def test_every_stop_narrates_its_cases_as_explain_does() -> None:
    page = render_all()[PAGE]
    cases = {case.id: case for case in load_cases()}
    for stop in STOPS:
        assert stop.cases, stop.title
        for case_id in stop.cases:
            narration = explain(cases[case_id])
            # The same narration, only the file path made relative to the repository.
            body = narration.split("\n", 2)[2]
            assert body in page, case_id
    assert "| IDLE | CONNECTING |" in page  # the transition table, from spec/connectivity.py
    assert "file: conformance/cases/" in page  # paths relative to the repository
