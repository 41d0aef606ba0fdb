"""The shipped corpus against the reference implementation: no unexpected result (as
``make conformance``), and policies the reference lacks come out SKIPPED, never ERROR."""

from __future__ import annotations

import pytest

from conformance.cases import load_cases
from conformance.protocol import SERVICE_CONFIG_POLICY
from conformance.results import Outcome, load_expectations
from conformance.runner import run_cases
from refimpl import registry
from tests.conformance.helpers import ROOT, in_process_refimpl


@pytest.mark.req("CONF-4", "CONF-5")
def test_the_corpus_has_no_unexpected_result_on_the_reference() -> None:
    cases = load_cases()
    results, hello = run_cases(cases, in_process_refimpl)
    expectations = load_expectations(ROOT / "conformance" / "expectations" / "refimpl.json")
    results = expectations.apply(results)
    assert hello is not None
    problems = [f"{r.case.id}: {r.outcome.value}: {r.message}" for r in results if r.unexpected]
    assert problems == []
    for r in results:
        # service_config is no registered policy but the channel's LB layer (PROTOCOL.md).
        if r.case.policy not in registry.names() and r.case.policy != SERVICE_CONFIG_POLICY:
            assert r.outcome is Outcome.SKIPPED
            assert f"policy {r.case.policy!r}" in r.message
