"""docs/explore_implementations.md's tables come from the explore reports and the triage file.

The committed page must equal the generated one; every class of every committed report must be
triaged in conformance/explore_triage.json, and every triage entry must match a class.  An
explore re-run is then `make diagrams` plus the triage edits these tests name.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from conformance import explore_page
from conformance.errors import WireError

ROOT = Path(__file__).resolve().parents[2]
CASES = ROOT / "conformance" / "cases"
JS_PICK_FIRST = "grpc-js-pick_first-k3-d6"


@pytest.fixture(scope="module")
def triage() -> explore_page.Triage:
    return explore_page.load_triage()


@pytest.fixture(scope="module")
def rows() -> list[explore_page.Row]:
    return explore_page.load_rows()


@pytest.mark.req("CONF-10")
def test_the_committed_page_is_fresh(
    triage: explore_page.Triage, rows: list[explore_page.Row]
) -> None:
    page = explore_page.PAGE.read_text(encoding="utf-8")
    fresh, _ = explore_page.generate(page, triage, rows)
    assert page == fresh, (
        "docs/explore_implementations.md is stale: run `make diagrams` and commit the result"
    )


@pytest.mark.req("CONF-6")
def test_every_class_of_every_report_is_triaged(
    triage: explore_page.Triage, rows: list[explore_page.Row]
) -> None:
    assert sum(len(row.classes) for row in rows) > 0, "no class at all: nothing was checked"
    problems = explore_page.check(rows, triage)
    assert not problems.untriaged, "add to conformance/explore_triage.json:\n" + "\n".join(
        line for line in problems.lines() if line.startswith("untriaged")
    )


@pytest.mark.req("CONF-6")
def test_no_triage_entry_or_family_is_stale(
    triage: explore_page.Triage, rows: list[explore_page.Row]
) -> None:
    problems = explore_page.check(rows, triage)
    lines = [line for line in problems.lines() if not line.startswith("untriaged")]
    assert not lines, "conformance/explore_triage.json:\n" + "\n".join(lines)


def test_every_linked_case_exists(triage: explore_page.Triage) -> None:
    missing = [
        f"{family.id}: conformance/cases/{case}.json"
        for family in triage.families
        for case in family.cases
        if not (CASES / f"{case}.json").is_file()
    ]
    assert not missing, "linked cases that do not exist:\n" + "\n".join(missing)


def _reports_with(tmp_path: Path, edit: Any) -> Path:
    """A reports directory holding only grpc-js's pick_first report, edited."""
    reports = tmp_path / "reports" / "explore"
    reports.mkdir(parents=True)
    name = f"{JS_PICK_FIRST}.json"
    report = json.loads((explore_page.REPORTS_DIR / name).read_text(encoding="utf-8"))
    edit(report)
    (reports / name).write_text(json.dumps(report), encoding="utf-8")
    return reports


def _plant_class(report: dict[str, Any]) -> None:
    planted = json.loads(json.dumps(report["keep_going"]["classes"][0]))
    planted["case"]["id"] = "explore-pick-first-00000000"
    report["keep_going"]["classes"].append(planted)


def _js_only(triage: explore_page.Triage) -> explore_page.Triage:
    """The committed triage of grpc-js's pick_first classes (the planted reports' only row)."""
    committed = next(r for r in explore_page.load_rows() if r.name == JS_PICK_FIRST)
    ids = {c.case_id for c in committed.classes}
    js = {k: v for k, v in triage.classes["grpc-js"].items() if k in ids}
    return explore_page.Triage(families=triage.families, classes={"grpc-js": js})


@pytest.mark.req("CONF-6")
def test_a_planted_untriaged_class_is_reported_and_shown(
    tmp_path: Path, triage: explore_page.Triage
) -> None:
    rows = explore_page.load_rows(_reports_with(tmp_path, _plant_class))
    problems = explore_page.check(rows, _js_only(triage))
    assert problems.untriaged == ((JS_PICK_FIRST, "explore-pick-first-00000000"),)
    assert any(
        f"{JS_PICK_FIRST}.json" in line and "explore-pick-first-00000000" in line
        for line in problems.lines()
    )
    blocks = explore_page.render_blocks(rows, _js_only(triage))
    planted_line = next(
        line for line in blocks["rows"].splitlines() if "explore-pick-first-00000000" in line
    )
    assert planted_line.endswith(f"| {explore_page.UNTRIAGED} |")
    assert explore_page.UNTRIAGED in blocks["explored"]
    assert explore_page.UNTRIAGED in blocks["families"]


@pytest.mark.req("CONF-6")
def test_a_triage_entry_no_report_contains_is_stale(
    tmp_path: Path, triage: explore_page.Triage
) -> None:
    def drop_first(report: dict[str, Any]) -> None:
        report["keep_going"]["classes"].pop(0)

    rows = explore_page.load_rows(_reports_with(tmp_path, drop_first))
    problems = explore_page.check(rows, _js_only(triage))
    assert problems.stale == (("grpc-js", "explore-pick-first-37acc0d9"),)
    assert problems.untriaged == ()
    # js-empty-update had only that class and says nothing about having none.
    assert "js-empty-update" in problems.unused_families


def _write_triage(tmp_path: Path, edit: Any) -> Path:
    data = json.loads(explore_page.TRIAGE_FILE.read_text(encoding="utf-8"))
    edit(data)
    path = tmp_path / "triage.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    status = explore_page.main(argv)
    return status, capsys.readouterr().err.splitlines()


def test_malformed_triage_json_is_a_one_line_error_with_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "triage.json"
    bad.write_text('{"families": [', encoding="utf-8")
    page = tmp_path / "page.md"
    shutil.copy(explore_page.PAGE, page)
    status, err = _run([str(page), "--triage", str(bad)], capsys)
    assert status == 2
    assert len(err) == 1, err
    assert str(bad) in err[0]
    assert "not valid JSON" in err[0]
    assert page.read_text(encoding="utf-8") == explore_page.PAGE.read_text(encoding="utf-8")


def test_an_unknown_family_is_a_one_line_error_with_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    def misspell(data: dict[str, Any]) -> None:
        data["classes"]["grpc-js"]["explore-pick-first-37acc0d9"] = ["js-empty-updat"]

    page = tmp_path / "page.md"
    shutil.copy(explore_page.PAGE, page)
    status, err = _run([str(page), "--triage", str(_write_triage(tmp_path, misspell))], capsys)
    assert status == 2
    assert len(err) == 1, err
    assert "$.classes.grpc-js.explore-pick-first-37acc0d9" in err[0]
    assert "unknown family 'js-empty-updat'" in err[0]


def test_a_wrong_field_type_names_its_json_path(tmp_path: Path) -> None:
    def stringify(data: dict[str, Any]) -> None:
        data["families"][2]["cases"] = "pick_first/x"

    with pytest.raises(WireError, match=r"\$\.families\[2\]\.cases: expected a list"):
        explore_page.load_triage(_write_triage(tmp_path, stringify))


def test_an_unknown_triage_letter_is_refused(tmp_path: Path) -> None:
    def reletter(data: dict[str, Any]) -> None:
        data["families"][0]["triage"] = "e"

    with pytest.raises(WireError, match=r"\$\.families\[0\]\.triage: 'e' is none of"):
        explore_page.load_triage(_write_triage(tmp_path, reletter))


def test_check_mode_reports_a_stale_page_and_leaves_it(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "page.md"
    committed = explore_page.PAGE.read_text(encoding="utf-8")
    row = next(r for r in explore_page.load_rows() if r.name == JS_PICK_FIRST)
    stale = committed.replace(f"{row.states} states,", f"{row.states + 1} states,", 1)
    assert stale != committed
    page.write_text(stale, encoding="utf-8")
    status, err = _run(["--check", str(page)], capsys)
    assert status == 1
    assert any("is stale: run `make diagrams`" in line for line in err), err
    assert page.read_text(encoding="utf-8") == stale
    status, err = _run([str(page)], capsys)
    assert (status, err) == (0, [])
    assert page.read_text(encoding="utf-8") == committed


def test_a_page_without_a_block_is_refused(tmp_path: Path) -> None:
    page = explore_page.PAGE.read_text(encoding="utf-8")
    without = page.replace("<!-- generated by conformance/explore_page.py: rows -->", "", 1)
    with pytest.raises(explore_page.ExploreTriageError, match="rows"):
        explore_page.rewrite(without, {"explored": "", "families": "", "rows": ""})


@pytest.mark.req("CONF-10")
def test_a_rows_numbers_and_unmodelled_options_come_from_its_report(
    rows: list[explore_page.Row], triage: explore_page.Triage
) -> None:
    row = next(r for r in rows if r.unmodelled)
    text = explore_page.render_rows([row], triage)
    assert f"{row.states} states, {row.transitions} transitions" in text
    assert f"{row.pruned} of them not extended" in text
    first = row.unmodelled[0]
    assert f"Not meaningful (declared `{first.option}={first.value}`" in text
    assert all(f"`{c.case_id}`" in text for c in row.classes)


@pytest.mark.req("CONF-6")
def test_the_command_names_an_untriaged_class_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "page.md"
    shutil.copy(explore_page.PAGE, page)
    reports = _reports_with(tmp_path, _plant_class)
    status, err = _run([str(page), "--reports", str(reports)], capsys)
    assert status == 1
    assert any(
        line.startswith("explore_page: untriaged:")
        and f"{JS_PICK_FIRST}.json" in line
        and "explore-pick-first-00000000" in line
        for line in err
    ), err
    assert "`explore-pick-first-00000000` | PF-" in page.read_text(encoding="utf-8")


def test_make_diagrams_regenerates_the_page() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile.split("\ndiagrams:", 1)[1].split("\n\n", 1)[0]
    assert "-m conformance.explore_page docs/explore_implementations.md" in recipe
