"""Expectations across repetitions (conformance/across.py): loading, bounds, verdicts (CONF-7)."""

from __future__ import annotations

import math
from typing import Any

import pytest

from conformance.across import MAX_FALSE_ALARM, Across
from conformance.cases import load_cases
from conformance.errors import WireError
from conformance.explain import explain
from conformance.results import Outcome
from conformance.runner import run_cases
from tests.conformance.helpers import A, B, in_process_refimpl, make_case, schema_errors

C = "10.0.0.3:80"


def _pf_block(across: dict[str, Any], times: int = 400, **extra: Any) -> dict[str, Any]:
    return {
        "id": "selftest-across",
        "title": "t",
        "requirements": ["PF-5"],
        "policy": "pick_first",
        "config": {"shuffleAddressList": True},
        "steps": [
            {
                "repeat": times,
                "steps": [
                    {"input": {"type": "resolver_update", "endpoints": [["10.0.0.9:80"]]}},
                    {"input": {"type": "resolver_update", "endpoints": [[A], [B], [C]]}},
                ],
                "expect": {"across": across},
                **extra,
            }
        ],
    }


UNIFORM = {"observe": "first_connect", "from_step": 2, "tolerance": 0.15}
THIRDS = {A: 1 / 3, B: 1 / 3, C: 1 / 3}


@pytest.mark.req("CONF-7")
def test_a_block_expands_once_per_repetition_with_its_position() -> None:
    case = make_case(_pf_block({**UNIFORM, "fractions": THIRDS}))
    assert len(case.steps) == 800
    last = case.steps[-1]
    assert (last.repetition, last.position, last.closes_block) == (399, 2, True)
    assert not any(s.closes_block for s in case.steps[:-1])


@pytest.mark.req("CONF-7")
def test_the_false_alarm_bound_is_hoeffding_and_enforced() -> None:
    across = Across("first_connect", 400, 2, fractions=tuple(THIRDS.items()), tolerance=0.15)
    assert across.false_alarm_bound() == pytest.approx(3 * 2 * math.exp(-2 * 400 * 0.15**2))
    assert across.false_alarm_bound() <= MAX_FALSE_ALARM
    data = _pf_block({**UNIFORM, "fractions": THIRDS}, times=50)
    with pytest.raises(WireError, match="bad luck"):
        make_case(data)


@pytest.mark.req("CONF-7")
def test_every_order_of_lists_each_permutation_with_its_chance() -> None:
    case = make_case(
        _pf_block({"observe": "connect_order", "from_step": 2, "every_order_of": [A, B, C]})
    )
    across = case.steps[0].across
    assert across is not None
    assert len(across.reachable) == 6
    assert across.min_probability == pytest.approx(1 / 6)


BAD_BLOCKS = [
    ({"observe": "first_connect"}, "give fractions"),
    ({"observe": "last_pick", "fractions": THIRDS, "tolerance": 0.1}, "expected one of"),
    ({**UNIFORM, "fractions": {A: 0.5, B: 0.4}}, "add up to 1"),
    ({**UNIFORM, "from_step": 3, "fractions": THIRDS}, "the block has 2 steps"),
    ({"observe": "first_connect", "every_order_of": [A, B]}, "needs connect_order"),
    ({"observe": "connect_order", "fractions": THIRDS, "tolerance": 0.1}, "fractions need"),
]


@pytest.mark.req("CONF-7", "CONF-9")
@pytest.mark.parametrize(("across", "problem"), BAD_BLOCKS)
def test_the_loader_refuses_bad_across_expectations(across: dict[str, Any], problem: str) -> None:
    with pytest.raises(WireError, match=problem):
        make_case(_pf_block(across))


@pytest.mark.req("CONF-7", "CONF-9")
def test_a_block_step_cannot_name_a_pick() -> None:
    data = _pf_block({**UNIFORM, "fractions": THIRDS})
    data["steps"][0]["steps"].append({"input": {"type": "pick", "pick_id": 7}})
    with pytest.raises(WireError, match="cannot name a pick_id"):
        make_case(data)
    assert schema_errors("case", _pf_block({**UNIFORM, "fractions": THIRDS})) == []
    assert schema_errors("case", _pf_block({"observe": "first_connect"})) != []


@pytest.mark.req("CONF-7")
def test_check_reports_shares_and_unreached_outcomes() -> None:
    across = Across(
        "connect_order",
        4,
        1,
        reachable=((A, B), (B, A)),
        min_probability=0.5,
    )
    assert across.check([(A, B), (B, A), (A, B), (B, A)]) is None
    problem = across.check([(A, B)] * 4)
    assert problem is not None
    assert "1 of 2 outcomes" in problem
    assert "10.0.0.2:80 10.0.0.1:80" in problem
    assert across.check([(A, B), ()] * 2) == "no connect order was observed in repetition 2 of 4"
    shares = Across("first_pick", 4, 1, fractions=((A, 0.5), (B, 0.5)), tolerance=0.1)
    assert shares.check([(A,), (B,), (A,), (B,)]) is None
    assert "1.000 (expected 0.500)" in (shares.check([(A,)] * 4) or "")


@pytest.mark.req("CONF-7", "RR-7", "PF-5")
def test_the_corpus_uses_cross_repetition_cases_and_the_reference_passes_them() -> None:
    chosen = [c for c in load_cases() if any(s.across is not None for s in c.steps)]
    assert {c.id for c in chosen} >= {
        "rr-new-picker-starts-at-random-endpoint",
        "pf-shuffle-first-connection-uniform",
        "pf-shuffle-every-order-reachable",
        "pf-weighted-shuffle-first-connection-follows-weights",
    }
    results, _ = run_cases(chosen, in_process_refimpl)
    assert [r.message for r in results if r.outcome is not Outcome.PASS] == []


@pytest.mark.req("CONF-7")
def test_explain_tells_a_block_once_with_its_bound() -> None:
    case = next(c for c in load_cases() if c.id == "pf-shuffle-every-order-reachable")
    text = explain(case)
    assert "repeats the 4 steps below 300 times" in text
    assert "false-alarm bound" in text
    assert text.count("Step 1.2.") == 1
