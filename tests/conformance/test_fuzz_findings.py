"""The README's table of how long fuzzing takes to find each planted bug lists every bug."""

from __future__ import annotations

import pytest

from conformance.fuzz_findings import END, START, find, table
from conformance.planted import BUGS
from tests.conformance.helpers import ROOT


@pytest.mark.req("CONF-10")
def test_the_readme_table_names_every_planted_bug() -> None:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text[text.index(START) : text.index(END)]
    listed = {line.split("|")[1].strip() for line in block.splitlines() if line.startswith("| ")}
    assert listed - {"planted bug"} == set(BUGS)


@pytest.mark.req("CONF-10", "PF-24")
def test_a_finding_counts_the_sequences_until_the_first_failure() -> None:
    finding = find("pf-repeats-reports", budget=20, max_steps=15, seed=0)
    assert finding.sequences is not None
    assert 1 <= finding.sequences <= 20
    assert "PF-24" in finding.requirements
    assert "| pf-repeats-reports | PF-24 |" in table([finding], max_steps=15, seed=0)
