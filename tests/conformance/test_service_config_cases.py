"""Service config cases: whole service configs through the channel's LB layer (SC-*, GS-*).

The pseudo-policy ``service_config`` needs the adapter capability of the same
name; an adapter without it SKIPS those cases, and says why.
"""

from __future__ import annotations

from typing import Any

import pytest

from conformance import protocol
from conformance.adapters.refimpl import RefimplAdapter
from conformance.cases import Capability, load_cases
from conformance.errors import WireError
from conformance.results import Outcome
from conformance.runner import run_cases
from conformance.transport import InProcessTransport
from tests.conformance.helpers import A, in_process_refimpl, make_case, schema_errors


def _service_config_cases() -> list[Any]:
    return [c for c in load_cases() if c.policy == protocol.SERVICE_CONFIG_POLICY]


@pytest.mark.req("SC-1", "SC-10", "SC-11", "GS-2", "GS-6", "GS-7", "CONF-4")
def test_the_reference_passes_every_service_config_case() -> None:
    cases = _service_config_cases()
    assert len(cases) >= 15
    assert all(Capability.SERVICE_CONFIG in c.capabilities for c in cases)
    results, hello = run_cases(cases, in_process_refimpl)
    assert hello is not None
    assert hello.capabilities.service_config
    assert [(r.case.id, r.message) for r in results if r.outcome is not Outcome.PASS] == []


class _NoServiceConfig(RefimplAdapter):
    def capabilities(self) -> protocol.Capabilities:
        full = super().capabilities()
        return protocol.Capabilities(
            policies=full.policies,
            time=full.time,
            seedable_random=full.seedable_random,
            health_listener=full.health_listener,
            orca=full.orca,
            profiles=full.profiles,
            spec_options=full.spec_options,
        )


@pytest.mark.req("CONF-4")
def test_an_adapter_without_the_capability_skips_them_visibly() -> None:
    cases = _service_config_cases()[:3]
    results, _ = run_cases(cases, lambda: InProcessTransport(_NoServiceConfig().handle))
    assert [r.outcome for r in results] == [Outcome.SKIPPED] * 3
    assert all("capability 'service_config'" in r.message for r in results)


@pytest.mark.req("CONF-9")
@pytest.mark.parametrize(
    ("policy", "capabilities"),
    [("service_config", []), ("pick_first", ["service_config"])],
)
def test_the_policy_and_the_capability_go_together(policy: str, capabilities: list[str]) -> None:
    data = {
        "id": "selftest-sc",
        "title": "t",
        "requirements": ["SC-7"],
        "policy": policy,
        "capabilities": capabilities,
        "steps": [{"input": {"type": "resolver_update", "endpoints": [[A]], "config": "{}"}}],
    }
    with pytest.raises(WireError, match="go together"):
        make_case(data)
    good = {**data, "policy": "service_config", "capabilities": ["service_config"]}
    assert make_case(good).policy == "service_config"
    assert schema_errors("case", good) == []


@pytest.mark.req("CONF-2")
def test_the_handshake_carries_the_capability() -> None:
    hello = protocol.read_started(
        protocol.started_message(RefimplAdapter().implementation, RefimplAdapter().capabilities())
    )
    assert hello.capabilities.service_config
    assert Capability.SERVICE_CONFIG in hello.capabilities.flags
