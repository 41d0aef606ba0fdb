"""``conformance.adapters.same_report``: the determinism check of `make
conformance-grpc-java` (two runs of a seeded, virtual-time adapter must report the
same thing).  The Java runs themselves happen only in that target, so `make check`
never builds Java; this test keeps the comparison honest without Java."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from conformance.adapters import same_report


def report(outcome: str, seconds: float) -> dict[str, Any]:
    case = {"id": "pf-x", "outcome": outcome, "message": "", "seconds": seconds}
    return {"protocol": 1, "seconds": seconds * 10, "summary": {"total": 1}, "results": [case]}


def write(tmp_path: Path, name: str, value: Any) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(value), encoding="utf-8")
    return str(path)


@pytest.mark.req("CONF-5")
def test_reports_differing_only_in_timings_are_the_same(tmp_path: Path) -> None:
    a = write(tmp_path, "a.json", report("pass", 0.5))
    b = write(tmp_path, "b.json", report("pass", 0.7))
    assert same_report.main([a, b]) == 0


@pytest.mark.req("CONF-5")
def test_a_different_outcome_names_the_case(tmp_path: Path, capsys: Any) -> None:
    a = write(tmp_path, "a.json", report("pass", 0.5))
    b = write(tmp_path, "b.json", report("fail", 0.5))
    assert same_report.main([a, b]) == 1
    assert "case 'pf-x' differs" in capsys.readouterr().out


@pytest.mark.req("CONF-5")
def test_empty_reports_prove_nothing(tmp_path: Path) -> None:
    empty = {"protocol": 1, "seconds": 0, "summary": {}, "results": []}
    a = write(tmp_path, "a.json", empty)
    assert same_report.main([a, a]) == 1


@pytest.mark.req("CONF-5")
def test_an_unreadable_report_is_a_one_line_error(tmp_path: Path, capsys: Any) -> None:
    a = write(tmp_path, "a.json", report("pass", 0.5))
    assert same_report.main([a, str(tmp_path / "missing.json")]) == 2
    assert "cannot read a JSON report" in capsys.readouterr().err
