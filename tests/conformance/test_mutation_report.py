"""docs/mutation.md is rendered from the committed mutation results and reviewed equivalents."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

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


def test_every_module_with_results_records_the_source_it_was_measured_on() -> None:
    from conformance.mutation import SOURCES

    recorded = json.loads(SOURCES.read_text(encoding="utf-8"))
    measured = {path.stem for path in RESULTS_DIR.glob("*.json") if path != SOURCES}
    assert measured == set(recorded)


def test_results_measured_on_another_source_are_marked_stale(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A module edited after its run has shifted lines: its results must say so, not pass as
    # current (issue 15).
    from conformance import mutation

    recorded = json.loads(mutation.SOURCES.read_text(encoding="utf-8"))
    recorded["round_robin"] = mutation.measured_source("# not round_robin.py\n")
    sources = tmp_path / "sources.json"
    sources.write_text(json.dumps(recorded), encoding="utf-8")
    monkeypatch.setattr(mutation, "SOURCES", sources)
    rows = [line for line in render_report().splitlines() if line.startswith("| round_robin")]
    assert rows
    assert "stale: refimpl/round_robin.py changed since" in rows[0]


def test_mutants_in_a_function_the_corpus_never_calls_are_known_without_running_them() -> None:
    # Issue 15: such a mutant cannot change any run, so it survives unrun; a function whose
    # body ran at least once is never skipped, and neither are its def line and defaults.
    from conformance.mutation import never_run

    source = "def f(x=1):\n    return x\n\n\ndef g(y=2):\n    '''doc'''\n    return y\n"
    assert never_run(source, {1, 2, 5}) == {6: "g", 7: "g"}
    assert never_run(source, {1, 2, 5, 7}) == {}


def test_run_without_cosmic_ray_is_a_one_line_error(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Bad input rule: `run` without Cosmic Ray installed says so in one line, status 2."""
    import conformance.mutation as mutation

    monkeypatch.setattr(mutation, "_cosmic_ray", lambda: str(tmp_path / "cosmic-ray"))
    assert mutation.main(["run", "round_robin"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert "make mutation" in err
