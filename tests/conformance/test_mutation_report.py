"""docs/mutation.md is rendered from the committed mutation results and reviewed equivalents."""

from __future__ import annotations

import json

from conformance.mutation import (
    EQUIVALENTS,
    POLICY_MODULES,
    README,
    REPORT,
    RESULTS_DIR,
    render_report,
    summary_table,
)


def test_the_committed_mutation_report_is_fresh() -> None:
    assert REPORT.read_text(encoding="utf-8") == render_report(), (
        "docs/mutation.md is stale: run `python -m conformance.mutation report` and commit it"
    )


def test_every_reviewed_equivalent_names_a_mutant_that_survived() -> None:
    # An equivalence reason for a mutant the corpus now kills (or that no longer exists) is
    # stale and would hide a later survivor with the same key.
    for entry in json.loads(EQUIVALENTS.read_text()):
        assert entry["module"] in POLICY_MODULES, entry
        assert entry["reason"].strip(), entry
        results = json.loads((RESULTS_DIR / f"{entry['module']}.json").read_text())
        matching = [
            m
            for m in results
            if (m["operator"], m["occurrence"], m["line"])
            == (entry["operator"], entry["occurrence"], entry["line"])
        ]
        assert matching, entry
        assert matching[0]["outcome"] != "killed", entry


def test_the_readme_shows_the_current_mutation_scores() -> None:
    assert summary_table() in README.read_text(encoding="utf-8"), (
        "README.md's mutation table is stale: run `python -m conformance.mutation report`"
    )
