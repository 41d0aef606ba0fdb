"""The catalogue audit (issue 14) is recorded on the requirements and rendered in the
requirement index (docs/requirements.md, conformance/requirement_index.py)."""

from __future__ import annotations

from conformance.requirement_index import render
from spec.catalogue import CATALOGUE, Level
from spec.catalogue.audit import AUDIT


def test_every_must_of_pick_first_round_robin_and_aggregation_was_audited() -> None:
    missing = [
        r.id
        for r in CATALOGUE.values()
        if r.area in ("PF", "RR", "AGG") and r.level is Level.MUST and not r.checked
    ]
    assert missing == []


def test_audit_entries_reach_their_requirements_and_the_page() -> None:
    page = render()
    assert "- checked against (catalogue audit" in page
    for req_id, findings in AUDIT.items():
        assert CATALOGUE[req_id].checked == findings
        assert all(":" in f for f in findings)  # "<implementation>: <what its source does>"
    assert "not audited yet" in page  # the unaudited ones say so
