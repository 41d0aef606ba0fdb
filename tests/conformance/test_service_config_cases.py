"""Service config cases: whole service configs through the channel's LB layer (SC-*, GS-*).

The pseudo-policy ``service_config`` needs the adapter capability of the same
name; an adapter without it SKIPS those cases, and says why.
"""

from __future__ import annotations

from typing import Any

import attrs
import pytest

from conformance import protocol
from conformance.adapters.refimpl import RefimplAdapter
from conformance.cases import Capability, load_cases
from conformance.errors import WireError
from conformance.results import Outcome
from conformance.runner import run_cases
from conformance.transport import InProcessTransport, Transport
from refimpl.balancer import Builder
from refimpl.service_config_channel import ServiceConfigChannelBuilder
from spec.options import GracefulSwitchRule
from tests.conformance.helpers import A, in_process_refimpl, make_case, schema_errors


def _service_config_cases() -> list[Any]:
    return [c for c in load_cases() if c.policy == protocol.SERVICE_CONFIG_POLICY]


GRACEFUL_SWITCH = "service_config.graceful_switch"


@pytest.mark.req("SC-1", "SC-10", "SC-11", "GS-2", "GS-5", "GS-6", "GS-7", "CONF-4")
def test_the_reference_passes_every_service_config_case() -> None:
    """Also those written for another service_config.graceful_switch value than its own
    (grpc-go's): the reference follows each when a case asks (GracefulSwitchBalancer.rule)."""
    cases = _service_config_cases()
    assert len(cases) >= 15
    assert all(Capability.SERVICE_CONFIG in c.capabilities for c in cases)
    results, hello = run_cases(cases, in_process_refimpl)
    assert hello is not None
    assert hello.capabilities.service_config
    assert dict(hello.capabilities.spec_options)[GRACEFUL_SWITCH] == "grpc_go"
    assert set(dict(hello.capabilities.configurable_options)[GRACEFUL_SWITCH]) == {
        r.value for r in GracefulSwitchRule
    }
    assert [(r.case.id, r.message) for r in results if r.outcome is not Outcome.PASS] == []


def _reference_switching(rule: GracefulSwitchRule, declared: str) -> Transport:
    """The reference with its graceful switch set to ``rule``, declaring ``declared`` and
    settable per case in nothing, so a case written for another value is SKIPPED."""

    class Adapter(RefimplAdapter):
        def builder_for(self, policy: str) -> str | Builder:
            if policy == protocol.SERVICE_CONFIG_POLICY:
                return ServiceConfigChannelBuilder(graceful_switch=rule)
            return policy

        def capabilities(self) -> protocol.Capabilities:
            full = super().capabilities()
            options = dict(full.spec_options, **{GRACEFUL_SWITCH: declared})
            return attrs.evolve(
                full, spec_options=tuple(sorted(options.items())), configurable_options=()
            )

    return InProcessTransport(Adapter().handle)


WRITTEN_ONLY_FOR = {
    "spec_text": {"sc-pending-policy-going-idle-is-held"},
    "grpc_go": set(),
    "grpc_java": set(),
    "hold_connecting": {
        "sc-old-policy-leaving-ready-reported-as-is",
        "sc-switch-while-connecting-keeps-old-policy",
    },
}


@pytest.mark.req("GS-5", "GS-6", "CONF-4")
@pytest.mark.parametrize("rule", list(GracefulSwitchRule), ids=lambda r: r.value)
def test_each_graceful_switch_value_passes_its_cases_and_skips_the_others(
    rule: GracefulSwitchRule,
) -> None:
    cases = _service_config_cases()
    results, _ = run_cases(cases, lambda: _reference_switching(rule, rule.value))
    outcomes = {r.case.id: (r.outcome, r.message) for r in results}
    # Every other option stays at the reference's declared value (not settable per case here):
    # a case written for another value of one (service_config.resolver_error_before_config)
    # is SKIPPED whatever the rule.
    declared = dict(RefimplAdapter().capabilities().spec_options, **{GRACEFUL_SWITCH: rule.value})
    for case in cases:
        held = all(declared[k] in v for k, v in case.written_for.items() if k in declared)
        want = Outcome.PASS if held else Outcome.SKIPPED
        assert outcomes[case.id][0] is want, (case.id, outcomes[case.id])
    for other, ids in WRITTEN_ONLY_FOR.items():
        want = Outcome.PASS if other == rule.value else Outcome.SKIPPED
        assert {outcomes[i][0] for i in ids} <= {want}


@pytest.mark.req("GS-5", "GS-6")
def test_the_cases_tell_hold_connecting_from_grpc_go() -> None:
    """C-core's and grpc-js's rule declared as grpc-go's fails exactly the grpc-go cases it
    differs on: a current child leaving READY, and a switch while CONNECTING."""
    results, _ = run_cases(
        _service_config_cases(),
        lambda: _reference_switching(GracefulSwitchRule.HOLD_CONNECTING, "grpc_go"),
    )
    failed = {r.case.id for r in results if r.outcome is Outcome.FAIL}
    assert failed == {
        "sc-old-policy-leaving-ready-hands-over",
        "sc-replaced-policy-cannot-ask-for-reresolution",
        "sc-switch-while-connecting-swaps-at-once",
    }


@pytest.mark.req("GS-6")
def test_the_cases_tell_the_text_from_grpc_go() -> None:
    """The text's rule declared as grpc-go's fails the pending-IDLE case it differs on."""
    results, _ = run_cases(
        _service_config_cases(),
        lambda: _reference_switching(GracefulSwitchRule.SPEC_TEXT, "grpc_go"),
    )
    failed = {r.case.id for r in results if r.outcome is Outcome.FAIL}
    assert failed == {"sc-pending-policy-going-idle-takes-over"}


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
