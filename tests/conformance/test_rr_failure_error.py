"""RR-9 and round_robin.failure_error: the case written for the text's most recent error
tells the two values apart.

The reference follows either value per case (EndpointSharding.failure_error); run with
grpc-go's rotation but declaring most_recent, it fails the case, so the case (and the
monitor judging by the declared value) would catch an implementation that rotates.
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

CASE = "rr-failure-picks-carry-most-recent-error"
KEY = "round_robin.failure_error"


class _RotatingDeclaredMostRecent(RefimplAdapter):
    """grpc-go's rotation (the reference's own value), declared as most_recent."""

    def capabilities(self) -> protocol.Capabilities:
        full = super().capabilities()
        options = dict(full.spec_options, **{KEY: "most_recent"})
        configurable = tuple((k, v) for k, v in full.configurable_options if k != KEY)
        return attrs.evolve(
            full, spec_options=tuple(sorted(options.items())), configurable_options=configurable
        )


def _rotating() -> Transport:
    return InProcessTransport(_RotatingDeclaredMostRecent().handle)


def _case() -> list[Case]:
    return [c for c in load_cases() if c.id == CASE]


@pytest.mark.req("RR-9")
def test_the_reference_set_to_most_recent_passes() -> None:
    (result,) = run_cases(_case(), in_process_refimpl)[0]
    assert result.outcome is Outcome.PASS


@pytest.mark.req("RR-9")
def test_a_rotating_picker_fails_the_most_recent_case() -> None:
    (result,) = run_cases(_case(), _rotating)[0]
    assert result.outcome is Outcome.FAIL
    assert "b: no route to host" in result.message or "RR-9" in result.message
