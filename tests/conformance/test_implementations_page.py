"""docs/implementations.md is generated from spec/options.py and the committed reports."""

from __future__ import annotations

import json
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


@pytest.mark.req("CONF-4")
def test_the_readme_results_table_is_fresh() -> None:
    readme = implementations_page.README.read_text(encoding="utf-8")
    assert readme == implementations_page.with_readme_table(readme), (
        "README.md's results table is stale: run `make diagrams` and commit the result"
    )


@pytest.mark.req("CONF-4")
def test_the_readme_table_counts_each_policy_and_marks_missing_runs(tmp_path: Path) -> None:
    report = {
        "implementation": {"name": "x", "version": "9"},
        "results": [
            {"policy": "pick_first", "outcome": "pass", "unexpected": False, "known_failure": None},
            {
                "policy": "pick_first",
                "outcome": "skipped",
                "unexpected": False,
                "known_failure": None,
            },
            {"policy": "round_robin", "outcome": "fail", "unexpected": False, "known_failure": {}},
        ],
    }
    (tmp_path / "grpc-go.json").write_text(json.dumps(report), encoding="utf-8")
    table = implementations_page.readme_table(tmp_path)
    pick_first = next(line for line in table if line.startswith("| pick_first |"))
    assert (
        pick_first
        == "| pick_first | 2 | not run | 1 / 0 / 0 (1 skipped) | "
        + " | ".join(["not run"] * 3)
        + " |"
    )
    assert any(line.startswith("| round_robin | 1 | not run | 0 / 1 / 0 |") for line in table)
    assert "grpc-go 9" in table[1]
    with pytest.raises(ValueError, match="markers"):
        implementations_page.with_readme_table("no table here", tmp_path)
