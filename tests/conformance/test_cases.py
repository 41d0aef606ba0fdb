"""Every case file is valid (schema and loader agree); case IDs are unique and stable-looking."""

from __future__ import annotations

import collections
import json
from pathlib import Path
from typing import Any

import pytest

from conformance.cases import CASE_ID, CASES_DIR, case_files, load_case, load_cases
from conformance.errors import CaseError, WireError
from tests.conformance.helpers import TEST_CASES, A, make_case, schema_errors, update

ALL_FILES = [*case_files(CASES_DIR), *case_files(TEST_CASES)]


def test_there_are_starter_cases() -> None:
    areas = {path.parent.name for path in case_files(CASES_DIR)}
    assert {"pick_first", "round_robin"} <= areas
    assert len(list(case_files(CASES_DIR))) >= 10


@pytest.mark.req("CONF-9")
@pytest.mark.parametrize("path", ALL_FILES, ids=lambda p: p.stem)
def test_every_case_file_validates_against_the_schema_and_loads(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    assert schema_errors("case", data) == []
    case = load_case(path)
    assert case.id == path.stem
    assert all(step.line is not None for step in case.steps)


@pytest.mark.req("CONF-8")
def test_case_ids_are_unique_stable_looking_and_prefixed_by_area() -> None:
    cases = load_cases(CASES_DIR)
    ids = [c.id for c in cases]
    assert len(ids) == len(set(ids))
    prefixes: dict[str, set[str]] = collections.defaultdict(set)
    for case in cases:
        assert CASE_ID.match(case.id), case.id
        assert len(case.id.split("-")) >= 3, f"{case.id}: say what it checks, in words"
        prefixes[case.area].add(case.id.split("-")[0])
    assert all(len(p) == 1 for p in prefixes.values()), prefixes
    assert len({p for ps in prefixes.values() for p in ps}) == len(prefixes)  # one prefix per area


@pytest.mark.req("CONF-8")
def test_a_duplicate_id_names_both_files(tmp_path: Path) -> None:
    source = next(iter(case_files(TEST_CASES)))
    # Once under its area's folder and once flat beside it (both are loaded).
    (tmp_path / "selftest").mkdir()
    (tmp_path / "selftest" / source.name).write_text(source.read_text())
    (tmp_path / source.name).write_text(source.read_text())
    with pytest.raises(CaseError, match=r"is used by .*selftest/selftest-basic.* and "):
        load_cases(tmp_path)


BAD_CASES: list[tuple[dict[str, Any], str]] = [
    ({"id": "Not_Stable"}, "lower-case words"),
    ({"requirements": []}, "at least one requirement"),
    ({"requirements": ["NOPE-9"]}, "no requirement 'NOPE-9'"),
    ({"capabilities": ["teleport"]}, "unknown capability"),
    ({"steps": []}, "at least one step"),
    ({"steps": [{"input": update(A), "expect": {"outputs": [], "any_of": []}}]}, "exactly one of"),
    ({"steps": [{"input": {"type": "pick"}, "expect": {"any_of": [[]]}}]}, "at least two"),
    (
        {"steps": [{"input": {"type": "oob_load_report", "subchannel": A, "report": {}}}]},
        "add 'orca'",
    ),
    (
        {
            "steps": [
                {
                    "input": {"type": "pick"},
                    "expect": {
                        "statistical": {"samples": 10, "tolerance": 0.1, "fractions": {A: 0.5}}
                    },
                }
            ]
        },
        "add up to 1",
    ),
    (
        {
            "steps": [
                {
                    "input": update(A),
                    "expect": {
                        "statistical": {"samples": 10, "tolerance": 0.1, "fractions": {A: 1}}
                    },
                }
            ]
        },
        "sends a pick input",
    ),
    ({"steps": [{"input": {"type": "done", "pick_id": 4}}]}, "no earlier pick 4"),
    (
        {
            "steps": [
                {"input": update(A), "expect": {"outputs": [{"type": "connect", "subchannel": 3}]}}
            ]
        },
        "expected a string",
    ),
    (
        {
            "steps": [
                {
                    "input": {"type": "pick"},
                    "expect": {"outputs": [{"type": "pick_fail", "status": {"code": "OK"}}]},
                }
            ]
        },
        "non-OK",
    ),
]


@pytest.mark.req("CONF-9")
@pytest.mark.parametrize(("change", "problem"), BAD_CASES)
def test_schema_and_loader_both_refuse_bad_cases(change: dict[str, Any], problem: str) -> None:
    data = {
        "id": "selftest-bad",
        "title": "t",
        "requirements": ["LB-4"],
        "policy": "pick_first",
        "steps": [{"input": update(A)}],
        **change,
    }
    with pytest.raises(WireError, match=problem):
        make_case(data)
    schema_can_see = problem not in {
        "no requirement 'NOPE-9'",
        "add 'orca'",
        "add up to 1",
        "sends a pick input",
        "no earlier pick 4",
    }
    if schema_can_see:
        assert schema_errors("case", data) != []


def test_the_loader_numbers_picks_and_applies_the_case_config() -> None:
    case = make_case(
        {
            "config": {"shuffleAddressList": True},
            "steps": [
                {"input": update(A)},
                {"input": {"type": "pick"}},
                {
                    "input": {"type": "pick"},
                    "expect": {
                        "statistical": {"samples": 5, "tolerance": 0, "fractions": {"queue": 1}}
                    },
                },
                {"input": {"type": "pick"}},
                {"input": {**update(A), "config": None}},
            ],
        }
    )
    assert case.steps[0].input["config"] == {"shuffleAddressList": True}
    assert [s.input.get("pick_id") for s in case.steps[1:4]] == [1, 2, 7]
    assert case.steps[4].input["config"] is None  # an explicit null is kept
