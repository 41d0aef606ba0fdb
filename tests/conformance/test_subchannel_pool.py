"""subchannel.pool: a case written for a channel without a subchannel pool is skipped,
visibly, for an implementation whose channel pools subchannels (spec/options.py).

With a pool (C-core, grpc-js) a policy that rebuilds its children keeps its connections:
the new child of a new endpoint gets the removed endpoint's subchannel for a shared
address (client_channel_specification.md, Subchannel Pool).  The monitors judge RR-1 and
RR-3 without one, so a case that relies on that declares ``subchannel.pool=none``.
"""

from __future__ import annotations

import attrs
import pytest

from conformance import protocol
from conformance.adapters.refimpl import REFIMPL_SPEC_OPTIONS, RefimplAdapter
from conformance.cases import load_cases
from conformance.results import Outcome
from conformance.runner import run_cases
from conformance.transport import InProcessTransport, Transport
from spec.options import OPTIONS
from tests.conformance.helpers import in_process_refimpl

KEY = "subchannel.pool"
CASE = "rr-endpoint-gaining-an-address-is-a-new-endpoint"


def _pooling() -> Transport:
    """The reference declaring a channel that pools subchannels."""

    class Pooling(RefimplAdapter):
        def capabilities(self) -> protocol.Capabilities:
            full = super().capabilities()
            options = dict(full.spec_options, **{KEY: "shared"})
            return attrs.evolve(full, spec_options=tuple(sorted(options.items())))

    return InProcessTransport(Pooling().handle)


@pytest.mark.req("RR-1", "RR-3")
def test_the_reference_has_no_pool_and_passes_the_case_written_for_none() -> None:
    assert REFIMPL_SPEC_OPTIONS[KEY] == "none" == OPTIONS[KEY].default
    (case,) = [c for c in load_cases() if c.id == CASE]
    assert (KEY, "none") in case.spec_options
    (result,) = run_cases([case], in_process_refimpl)[0]
    assert result.outcome is Outcome.PASS


@pytest.mark.req("RR-1", "RR-3")
def test_a_pooling_implementation_skips_it_and_the_skip_names_the_option() -> None:
    (case,) = [c for c in load_cases() if c.id == CASE]
    (result,) = run_cases([case], _pooling)[0]
    assert result.outcome is Outcome.SKIPPED
    assert KEY in result.message
