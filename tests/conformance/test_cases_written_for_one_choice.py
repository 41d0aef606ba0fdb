"""Cases written for one value of a selection-only spec option are skipped, visibly,
for an implementation that made the other choice, and pass on the reference, which makes
the value the monitors judge (spec/options.py).

Three such choices were first filed as divergences:

* subchannel.pool: with a pool (C-core, grpc-js) creating a subchannel for a live address
  hands back that subchannel (client_channel_specification.md, Subchannel Pool), so a new
  endpoint's child gets a removed one's subchannel (RR-1, RR-3);
* round_robin.children_on_update: with the pool, round_robin may replace every child on an
  update (gRFC A61, "Address List Updates in C-core"), so a kept endpoint's new child has
  none of the old one's history (RR-2, RR-5);
* pick_first.attribute_change: gRFC A61 leaves it to the implementation whether attributes
  count when addresses are compared; grpc-java's pick_first keeps the subchannel (PF-9).
"""

from __future__ import annotations

import attrs
import pytest

from conformance import protocol
from conformance.adapters.refimpl import REFIMPL_SPEC_OPTIONS, RefimplAdapter
from conformance.cases import Case, load_cases
from conformance.results import Outcome
from conformance.runner import run_cases
from conformance.transport import InProcessTransport, Transport
from spec.options import OPTIONS
from tests.conformance.helpers import in_process_refimpl

# option, the value the monitors judge, the other value, a case written for the first
CHOICES = [
    pytest.param(
        "subchannel.pool",
        "none",
        "shared",
        "rr-endpoint-gaining-an-address-is-a-new-endpoint",
        marks=pytest.mark.req("RR-1", "RR-3"),
        id="pool",
    ),
    pytest.param(
        "round_robin.children_on_update",
        "kept",
        "rebuilt",
        "rr-kept-failing-child-stays-failure-after-update",
        marks=pytest.mark.req("RR-2", "RR-5"),
        id="children",
    ),
    pytest.param(
        "pick_first.attribute_change",
        "new_subchannel",
        "same_subchannel",
        "pf-attributes-change-while-connecting-makes-a-new-address",
        marks=pytest.mark.req("PF-6", "PF-9"),
        id="attributes",
    ),
]


def _declaring(key: str, value: str) -> Transport:
    """The reference declaring ``key=value``, which it does not follow."""

    class Declaring(RefimplAdapter):
        def capabilities(self) -> protocol.Capabilities:
            full = super().capabilities()
            options = dict(full.spec_options, **{key: value})
            return attrs.evolve(full, spec_options=tuple(sorted(options.items())))

    return InProcessTransport(Declaring().handle)


def _case(case_id: str) -> Case:
    (case,) = [c for c in load_cases() if c.id == case_id]
    return case


@pytest.mark.parametrize(("key", "judged", "other", "case_id"), CHOICES)
def test_the_reference_makes_the_judged_choice_and_passes_the_case(
    key: str, judged: str, other: str, case_id: str
) -> None:
    assert set(OPTIONS[key].values) == {judged, other}
    assert REFIMPL_SPEC_OPTIONS[key] == judged == OPTIONS[key].default
    assert OPTIONS[key].monitor_parameter is None  # selection-only: no monitor takes it
    case = _case(case_id)
    assert (key, judged) in case.spec_options
    (result,) = run_cases([case], in_process_refimpl)[0]
    assert result.outcome is Outcome.PASS


@pytest.mark.parametrize(("key", "judged", "other", "case_id"), CHOICES)
def test_the_other_choice_skips_the_case_and_the_skip_names_the_option(
    key: str, judged: str, other: str, case_id: str
) -> None:
    (result,) = run_cases([_case(case_id)], lambda: _declaring(key, other))[0]
    assert result.outcome is Outcome.SKIPPED
    assert key in result.message
