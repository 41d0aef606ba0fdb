"""Client-side health checking of a READY subchannel (area HC; gRFC A17)."""

from __future__ import annotations

from spec.catalogue.model import Level, Requirement

_A17 = "gRFC A17 (Client Workflow)"
_GO = "grpc-go health/producer.go, health/client.go"

M = Level.MUST

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "HC-1",
        M,
        "A subchannel is health-checked only when the service config names "
        "healthCheckConfig.serviceName and the policy registered a health listener; "
        "otherwise that listener is told READY at once.",
        "gRFC A17 (Defaults; Service Config Changes); grpc-go balancer_wrapper.go "
        "(RegisterHealthListener)",
    ),
    Requirement(
        "HC-2",
        M,
        "Each Health/Watch attempt first reports CONNECTING, which lasts until the first "
        "response arrives.",
        _A17 + "; " + _GO,
    ),
    Requirement(
        "HC-3",
        M,
        "A SERVING response reports READY and any other serving status reports TRANSIENT_FAILURE.",
        _A17,
    ),
    Requirement(
        "HC-4",
        M,
        "A Watch that fails with UNIMPLEMENTED reports READY and is not retried on that "
        "connection.",
        _A17,
    ),
    Requirement(
        "HC-5",
        M,
        "A Watch that fails with any other status reports TRANSIENT_FAILURE and is retried "
        "with exponential backoff, at once when the failed stream had delivered a response.",
        _A17 + "; " + _GO + " (tryCnt reset on a message)",
    ),
    Requirement(
        "HC-6",
        M,
        "The Watch is cancelled when the subchannel leaves READY or shuts down, and no health "
        "state is reported for that connection afterwards.",
        _A17,
    ),
)
