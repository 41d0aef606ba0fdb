"""Outputs an adapter reports after a case's last step are judged, not dropped (issue 14)."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import protocol, wire
from conformance.adapters.refimpl import RefimplAdapter
from conformance.results import Outcome
from conformance.runner import run_cases
from conformance.transport import InProcessTransport, Transport
from tests.conformance.helpers import A, make_case, update


class LateOutputAdapter(RefimplAdapter):
    """The reference, plus ``late`` reported in ``ended`` as if it came after the last step."""

    def __init__(self, late: list[dict[str, Any]]) -> None:
        super().__init__()
        self.late = late

    def handle(self, message: wire.JsonObject) -> wire.JsonObject | None:
        reply = super().handle(message)
        if message.get("type") == "end" and reply is not None and reply["type"] == "ended":
            return {**protocol.ended_message(), "outputs": list(self.late)}
        return reply


def transport(late: list[dict[str, Any]]) -> Transport:
    return InProcessTransport(LateOutputAdapter(late).handle)


@pytest.mark.req("CONF-5")
def test_a_report_after_the_last_step_fails_the_case() -> None:
    case = make_case({"policy": "pick_first", "steps": [{"input": update(A)}]})
    ready = {"type": "update_state", "state": "READY"}
    results, _ = run_cases([case], lambda: transport([ready]))
    assert results[0].outcome is Outcome.FAIL, results[0].message
    assert "after the last step" in results[0].message


@pytest.mark.req("CONF-5")
def test_no_late_outputs_leave_the_verdict_alone() -> None:
    case = make_case({"policy": "pick_first", "steps": [{"input": update(A)}]})
    results, _ = run_cases([case], lambda: transport([]))
    assert results[0].outcome is Outcome.PASS, results[0].message
