"""Fuzz mode: legal sequences pass a correct policy; a bug is found, shrunk, and written as a
case that reproduces it."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.cases import load_case
from conformance.fuzz import fuzz
from conformance.results import Outcome
from conformance.runner import run_cases
from tests.conformance import policies
from tests.conformance.helpers import in_process_refimpl


@pytest.mark.req("CONF-10")
def test_a_correct_policy_survives_fuzzing() -> None:
    assert fuzz(in_process_refimpl, policies.CORRECT, examples=25, max_steps=15, seed=1) is None


@pytest.mark.req("CONF-10", "CONF-11", "LB-3")
def test_a_bug_is_shrunk_and_written_as_a_reproducing_case(tmp_path: Path) -> None:
    found = fuzz(in_process_refimpl, policies.LEAKS_ON_CLOSE, examples=60, max_steps=10, seed=2)
    assert found is not None
    assert found.requirements == ("LB-3",)
    kinds = [s.kind for s in found.steps]
    # Shrunk to the essence: one update with an address, then close.
    assert kinds == ["resolver_update", "close"]
    path = found.write(tmp_path / "fuzz")
    case = load_case(path)
    assert case.id.startswith("fuzz-conformance-test-leaks-on-close-")
    [again], _ = run_cases([case], in_process_refimpl)
    assert again.outcome is Outcome.FAIL
    assert [v.requirement for v in again.violations] == ["LB-3"]


@pytest.mark.req("CONF-10")
def test_a_crash_is_a_fuzz_failure_under_the_fallback_requirement() -> None:
    found = fuzz(in_process_refimpl, policies.CRASHES_ON_PICK, examples=40, max_steps=8, seed=3)
    assert found is not None
    assert found.requirements == ("CONF-10",)
    assert [s.kind for s in found.steps][-1] == "pick"
    assert "deliberate crash in the picker" in found.message
