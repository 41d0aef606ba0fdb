"""RR-2 and round_robin.repeated_endpoint: the cases written for first_wins and last_wins
tell the two values apart.

The reference follows either value per case (EndpointSharding.repeated_endpoint); declared
with the other value than the one it runs, it fails the case, so each case would catch an
implementation whose child gets the other repeat's address order.
"""

from __future__ import annotations

import attrs
import pytest

from conformance import protocol
from conformance.adapters.refimpl import RefimplAdapter
from conformance.cases import Case, load_cases
from conformance.results import Outcome
from conformance.runner import run_cases
from conformance.transport import InProcessTransport, Transport
from tests.conformance.helpers import in_process_refimpl

KEY = "round_robin.repeated_endpoint"
FIRST = "rr-repeated-endpoint-keeps-first-address-order"
LAST = "rr-repeated-endpoint-keeps-last-address-order"


def _declaring(value: str) -> Transport:
    """The reference running its own first_wins but declaring ``value``, not configurable."""

    class Declaring(RefimplAdapter):
        def capabilities(self) -> protocol.Capabilities:
            full = super().capabilities()
            options = dict(full.spec_options, **{KEY: value})
            configurable = tuple((k, v) for k, v in full.configurable_options if k != KEY)
            return attrs.evolve(
                full,
                spec_options=tuple(sorted(options.items())),
                configurable_options=configurable,
            )

    return InProcessTransport(Declaring().handle)


def _case(case_id: str) -> list[Case]:
    return [c for c in load_cases() if c.id == case_id]


@pytest.mark.req("RR-2")
@pytest.mark.parametrize("case_id", [FIRST, LAST])
def test_the_reference_passes_each_value_it_is_set_to(case_id: str) -> None:
    (result,) = run_cases(_case(case_id), in_process_refimpl)[0]
    assert result.outcome is Outcome.PASS


@pytest.mark.req("RR-2")
def test_a_child_given_the_first_repeat_fails_the_last_wins_case() -> None:
    (result,) = run_cases(_case(LAST), lambda: _declaring("last_wins"))[0]
    assert result.outcome is Outcome.FAIL
    assert "10.0.0.1:80" in result.message


@pytest.mark.req("RR-2")
def test_an_every_copy_implementation_skips_both_order_cases() -> None:
    """every_copy (C-core, grpc-js) gives each repeat a child: neither case is written for it."""
    for case_id in (FIRST, LAST):
        (result,) = run_cases(_case(case_id), lambda: _declaring("every_copy"))[0]
        assert result.outcome is Outcome.SKIPPED


@pytest.mark.req("RR-2")
def test_the_explore_probe_under_last_wins_wants_the_last_repeats_order() -> None:
    """conformance/explore.py's repeat_order probe, as offered under last_wins (grpc-java):
    the second address, first in the last repeat, is connected first in every repetition."""
    from conformance.explore import ACROSS, addresses, probe_block

    a1, a2 = addresses(2)
    raw = {"type": ACROSS, "probe": "repeat_order", "pick_id": 1, "last": True}
    block, expect = probe_block(raw, 2, None)
    assert block[-1]["endpoints"] == [[a1, a2], [a2, a1]]
    assert expect["fractions"] == {a2: 1.0}
    assert "reachable" not in expect
