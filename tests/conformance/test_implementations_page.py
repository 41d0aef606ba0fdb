"""docs/implementations.md is generated from spec/options.py and the committed reports."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conformance import implementations_page
from spec.options import IMPLEMENTATIONS, OPTIONS_LIST

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.req("CONF-4")
def test_the_committed_page_is_fresh() -> None:
    committed = DOCS / implementations_page.PAGE
    assert committed.exists(), "docs/implementations.md is missing: run `make diagrams`"
    assert committed.read_text(encoding="utf-8") == implementations_page.render(), (
        "docs/implementations.md is stale: run `make diagrams` and commit the result"
    )


@pytest.mark.req("CONF-4")
def test_every_option_and_implementation_is_on_the_page() -> None:
    page = implementations_page.render()
    for option in OPTIONS_LIST:
        assert f"`{option.key}`" in page
    for impl in IMPLEMENTATIONS:
        assert f"| {impl} " in page or f" {impl} |" in page


def _report(outcome: str, known: bool = False) -> dict[str, Any]:
    result = {
        "policy": "round_robin",
        "outcome": outcome,
        "unexpected": outcome == "fail" and not known,
        "known_failure": {"reason": "r", "link": "l"} if known else None,
    }
    summary = dict.fromkeys(
        ("total", "passed", "failed", "errored", "skipped", "known_failures", "unexpected"), 0
    )
    return {
        "implementation": {"name": "x", "version": "1"},
        "summary": summary,
        "results": [result],
    }


def test_a_missing_report_is_shown_as_not_run() -> None:
    reports = dict.fromkeys(IMPLEMENTATIONS)
    reports["grpc-go"] = _report("fail", known=True)
    page = implementations_page.render(reports)
    assert "| round_robin | 0 / 1 / 0 / 0 | not run | not run | not run |" in page
    assert "- grpc-java: not run" in page
