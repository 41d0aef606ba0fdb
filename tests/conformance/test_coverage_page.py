"""docs/coverage.md is up to date, and names every config field of the reference's policies."""

from __future__ import annotations

import functools

import attrs
import pytest

from conformance.coverage import CONFIG_FIELDS, PAGE, render
from refimpl.least_request import LeastRequestConfig
from refimpl.pick_first import PickFirstConfig
from refimpl.weighted_round_robin import WeightedRoundRobinConfig
from tests.conformance.helpers import ROOT


@functools.cache
def rendered() -> str:
    return render()


@pytest.mark.req("CONF-5")
def test_the_committed_coverage_page_is_fresh() -> None:
    committed = ROOT / "docs" / PAGE
    assert committed.exists(), "docs/coverage.md is missing: run `make diagrams`"
    assert committed.read_text(encoding="utf-8") == rendered(), (
        "docs/coverage.md is stale: run `make diagrams` and commit the result"
    )


@pytest.mark.req("CONF-5", "PF-1", "WRR-1", "LR-1")
def test_every_config_field_is_listed_with_its_observing_cases() -> None:
    counts = {
        "pick_first": len(attrs.fields(PickFirstConfig)),
        "weighted_round_robin": len(attrs.fields(WeightedRoundRobinConfig)),
        "least_request_experimental": len(attrs.fields(LeastRequestConfig)),
    }
    listed = {policy: sum(1 for p, *_ in CONFIG_FIELDS if p == policy) for policy in counts}
    assert listed == counts
    unobserved = [field for _, field, _, cases in CONFIG_FIELDS if not cases]
    assert unobserved == ["oobReportingPeriod"]  # the protocol cannot show it (see the page)


@pytest.mark.req("CONF-5")
def test_the_page_crosses_requirements_with_states() -> None:
    text = rendered()
    assert "| PF-16 | pick_first |" in text
    assert "| READY (health) |" in text
    assert "| RR-7 | round_robin |" in text
    assert "| SC-10 | service_config |" in text
