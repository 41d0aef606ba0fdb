"""Generated artefacts in docs/ are up to date with the spec."""

from __future__ import annotations

from pathlib import Path

import pytest

from spec.docs import render_all

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize("name", sorted(render_all()))
def test_committed_docs_are_fresh(name: str) -> None:
    committed = DOCS / name
    assert committed.exists(), f"docs/{name} is missing: run `make diagrams`"
    assert committed.read_text(encoding="utf-8") == render_all()[name], (
        f"docs/{name} is stale: run `make diagrams` and commit the result"
    )


def test_diagrams_show_every_edge() -> None:
    from spec.connectivity import Profile, transitions

    text = render_all()["connectivity.md"]
    for profile in Profile:
        for t in transitions(profile):
            assert f"| {t.source.name} | {t.target.name} |" in text
    assert "TRANSIENT_FAILURE --> CONNECTING" in text  # the seed-only retry edge is drawn
