"""docs/requirements.md, the index from each requirement to everything about it, is fresh;
``list --requirement`` lists a requirement's cases (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cases import load_cases
from conformance.cli import main
from conformance.requirement_index import PAGE, cases_checking, mentions, render_all
from spec.catalogue import CATALOGUE, RequirementId
from spec.errors import ModelError

DOCS = Path(__file__).resolve().parents[2] / "docs"


def test_the_committed_index_is_fresh() -> None:
    committed = DOCS / PAGE
    assert committed.exists(), f"docs/{PAGE} is missing: run `make diagrams`"
    assert committed.read_text(encoding="utf-8") == render_all()[PAGE], (
        f"docs/{PAGE} is stale: run `make diagrams` and commit the result"
    )


def test_the_index_has_every_requirement_and_its_planted_bugs() -> None:
    page = render_all()[PAGE]
    for req in CATALOGUE:
        assert f"### {req} (" in page
    pf16 = page[page.index("### PF-16 (") : page.index("### PF-17 (")]
    assert "pf-sticky-transient-failure" in pf16  # a case that checks it
    assert "pf-no-sticky-tf" in pf16  # the planted bug that breaks it
    assert "spec/monitors/pick_first.py:" in pf16
    assert "refimpl/pick_first.py:" in pf16


def test_a_mention_is_a_whole_id_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text("x = 1\n# PF-1 and PF-16; not XPF-1 nor PF-160\n")
    found = mentions("pkg", tmp_path)
    assert found == {"PF-1": {"pkg/m.py": [2]}, "PF-16": {"pkg/m.py": [2]}}


def test_list_by_requirement_shows_its_cases(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--requirement", "PF-16"]) == 0
    out = capsys.readouterr().out
    expected = cases_checking(load_cases(), ["PF-16"])
    assert "pf-sticky-transient-failure" in out
    assert f"{len(expected)} cases" in out
    assert "rr-spreads-picks-evenly" not in out


def test_list_by_an_unknown_requirement_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["list", "--requirement", "PF-999"]) == 2
    assert "no requirement 'PF-999'" in capsys.readouterr().err


def test_requirement_ids_are_their_own_validated_type() -> None:
    assert isinstance(CATALOGUE["PF-16"].id, RequirementId)
    assert RequirementId("PF-16").sort_key() == ("PF", 16)
    with pytest.raises(ModelError, match="AREA-N"):
        RequirementId("pf16")
