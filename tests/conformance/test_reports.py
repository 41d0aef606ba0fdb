"""Reports: the JSON report matches its schema, JUnit XML is well-formed and agrees with the
results, and the terminal report groups by policy and requirement."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import attrs
import pytest

from conformance.cases import load_case
from conformance.protocol import Hello
from conformance.report import render_terminal, to_json, to_junit
from conformance.results import CaseResult, Expectations, KnownFailure, Outcome
from conformance.runner import run_cases
from tests.conformance import policies
from tests.conformance.helpers import TEST_CASES, in_process_refimpl, schema_errors

BASIC = load_case(TEST_CASES / "selftest" / "selftest-basic.json")


def mixed_results() -> tuple[list[CaseResult], Hello | None]:
    cases = [
        BASIC,
        attrs.evolve(BASIC, id="selftest-never-ready", policy=policies.NEVER_READY),
        attrs.evolve(BASIC, id="selftest-leaky", policy=policies.LEAKS_ON_CLOSE),
        attrs.evolve(BASIC, id="selftest-absent", policy="absent_policy"),
        attrs.evolve(BASIC, id="selftest-known", policy=policies.NEVER_READY),
    ]
    results, hello = run_cases(cases, in_process_refimpl)
    known = KnownFailure(
        "selftest-known", Outcome.FAIL, "never reports READY", "https://example.org/1"
    )
    return Expectations(known={"selftest-known": known}).apply(results), hello


@pytest.mark.req("CONF-6")
def test_json_report_matches_its_schema_and_the_results() -> None:
    results, hello = mixed_results()
    report = to_json(results, hello, 1.5)
    assert schema_errors("report", report) == []
    assert report["summary"] == {
        "total": 5,
        "passed": 1,
        "failed": 3,
        "errored": 0,
        "skipped": 1,
        "known_failures": 1,
        "unexpected": 2,
    }
    leaky = next(r for r in report["results"] if r["id"] == "selftest-leaky")
    assert leaky["violations"][0]["requirement"] == "LB-3"
    assert report["implementation"]["language"] == "python"


@pytest.mark.req("CONF-6")
def test_junit_is_well_formed_and_counts_agree() -> None:
    results, _ = mixed_results()
    root = ET.fromstring(to_junit(results, 2.0).split("\n", 1)[1])
    assert root.tag == "testsuites"
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == (
        "5",
        "2",
        "0",
        "2",
    )
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert cases["selftest-basic"].find("failure") is None
    assert cases["selftest-never-ready"].find("failure") is not None
    assert "LB-3" in (cases["selftest-leaky"].find("failure").text or "")  # type: ignore[union-attr]
    assert cases["selftest-absent"].find("skipped") is not None
    known = cases["selftest-known"].find("skipped")
    assert known is not None
    assert "https://example.org/1" in (known.get("message") or "")


def test_terminal_report_groups_by_policy_and_requirement() -> None:
    results, hello = mixed_results()
    text = render_terminal(results, hello, 0.5, tally=True)
    assert text.index(policies.CORRECT) < text.index(policies.LEAKS_ON_CLOSE)
    assert " !FAIL         selftest-leaky" in text
    assert "  FAIL (known) selftest-known" in text
    assert "by requirement" in text
    assert "  LB-3      " in text
    assert (
        text.rstrip()
        .splitlines()[-1]
        .startswith("1 passed, 3 failed, 0 errored, 1 skipped (1 known failures, 2 unexpected)")
    )


@pytest.mark.req("CONF-6")
def test_reports_without_timings_are_byte_identical_across_runs() -> None:
    # `run --no-timings`: wall-clock seconds are the only part of a report that two runs of
    # a deterministic adapter may differ in, so without them the files must be equal.
    first, hello = mixed_results()
    second, _ = mixed_results()
    a = json.dumps(to_json(first, hello, 1.5, timings=False), indent=2)
    b = json.dumps(to_json(second, hello, 9.0, timings=False), indent=2)
    assert a == b
    assert '"seconds"' not in a
    assert schema_errors("report", json.loads(a)) == []
    junit_a = to_junit(first, 1.5, timings=False)
    assert junit_a == to_junit(second, 9.0, timings=False)
    assert "time=" not in junit_a
    assert 'time="' in to_junit(first, 1.5)


@pytest.mark.req("CONF-6")
def test_a_known_failure_whose_case_was_skipped_is_said_and_not_counted() -> None:
    results, hello = mixed_results()
    absent = KnownFailure("selftest-absent", Outcome.FAIL, "stale", "https://example.org/2")
    results = [
        attrs.evolve(r, known=absent) if r.case.id == "selftest-absent" else r for r in results
    ]
    assert to_json(results, hello, 1.0)["summary"]["known_failures"] == 1  # selftest-known only
    text = render_terminal(results, hello, 0.5)
    assert "stale expectations: 1 known failure(s) name cases this run skipped" in text
    assert text.count("(known)") == 2  # selftest-known's line and its details, not the skip
