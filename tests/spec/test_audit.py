"""The catalogue audit (issue 14) is recorded on the requirements and rendered in the
requirement index (docs/requirements.md, conformance/requirement_index.py)."""

from __future__ import annotations

import attrs
import pytest

from conformance import requirement_index
from conformance.requirement_index import render
from spec.catalogue import CATALOGUE, Level
from spec.catalogue.audit import AUDIT, OWN_RULE


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
    assert "not audited yet" not in page  # every requirement has an entry (below)


def test_every_requirement_of_the_catalogue_was_audited() -> None:
    assert [r.id for r in CATALOGUE.values() if not r.checked] == []


def test_an_unaudited_requirement_says_so_on_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    unaudited = {**CATALOGUE, "PF-2": attrs.evolve(CATALOGUE["PF-2"], checked=())}
    monkeypatch.setattr(requirement_index, "CATALOGUE", unaudited)
    entry = render().split("### PF-2 ")[1].split("### ")[0]
    assert "checked against (catalogue audit, spec/catalogue/audit.py): not audited yet" in entry


def test_own_rule_marks_exactly_the_suites_own_rules() -> None:
    # CONF-1..11 cite only this project (conformance/PROTOCOL.md): nothing external to check.
    own = sorted((r.id for r in CATALOGUE.values() if OWN_RULE in r.checked), key=str)
    conf = sorted((r.id for r in CATALOGUE.values() if r.area == "CONF"), key=str)
    assert own == conf
    assert len(conf) == 11
    for req_id in conf:
        assert CATALOGUE[req_id].checked == (OWN_RULE,)
        assert CATALOGUE[req_id].source.startswith("conformance/PROTOCOL.md")
