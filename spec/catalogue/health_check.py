"""The health-checking client below the balancer boundary (area HC; gRFC A17).

The HEALTH area (round_robin's catalogue) states what crosses the boundary: who
asks for health and what policies make of it.  This area states what the
subchannel's health client does on the wire to produce those reports: the
``grpc.health.v1.Health/Watch`` stream, its answers, failures and retries.
"""

from __future__ import annotations

from spec.catalogue.model import Level, Requirement

_A17 = "gRFC A17 (Client Workflow)"
_GO = "grpc-go health/producer.go, health/client.go"

M = Level.MUST

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "HC-1",
        M,
        "Each Health/Watch attempt on a subchannel first reports CONNECTING, which lasts until "
        "the first response arrives.",
        _A17 + " (Race Conditions and Subchannel Startup); " + _GO,
    ),
    Requirement(
        "HC-2",
        M,
        "A SERVING response reports READY and any other serving status reports "
        "TRANSIENT_FAILURE with an error naming it.",
        _A17,
    ),
    Requirement(
        "HC-3",
        M,
        "A Watch that fails with UNIMPLEMENTED reports READY and is not retried on that "
        "connection.",
        _A17,
    ),
    Requirement(
        "HC-4",
        M,
        "A Watch that fails with any other status reports TRANSIENT_FAILURE and is retried "
        "with exponential backoff, at once when the failed stream had delivered a response.",
        _A17 + "; " + _GO + " (tryCnt reset on a message)",
    ),
    Requirement(
        "HC-5",
        M,
        "The Watch is cancelled when its subchannel leaves READY or shuts down, and reports "
        "nothing for that connection afterwards.",
        _A17 + " (the Watch is cancelled on shutdown and GOAWAY)",
    ),
)
