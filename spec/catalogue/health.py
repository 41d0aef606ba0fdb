"""Requirements for client-side health at the balancer boundary (gRFC A17, A61).

Only what crosses the balancer boundary is stated here: who asks for health,
when health reaches a policy, and what the leaf and round_robin make of it.
How the health producer talks to the server's Health.Watch (SERVING -> READY,
other statuses -> TRANSIENT_FAILURE, UNIMPLEMENTED -> READY and stop, retries
with backoff) happens below the boundary (grpc-go health/client.go,
health/producer.go) and is not restated.

The leaf rules repeat the pick_first catalogue's PF-26 and PF-27 from the health
side, so that this area reads on its own.
"""

from __future__ import annotations

from spec.catalogue.model import Level, Requirement

_A17 = "gRFC A17"
_A61 = "gRFC A61 (Generic Health Reporting Mechanism)"
_HEALTH_STATE = "grpc/grpc doc/client_channel_specification.md#subchannel-health-state"
_WRAPPER = "grpc-go balancer_wrapper.go"
_PF = "grpc-go balancer/pickfirst/pickfirst.go"

M = Level.MUST

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "HEALTH-1",
        M,
        "Client-side health checking is off unless the service config sets "
        "healthCheckConfig.serviceName, and then it covers only subchannels whose policy "
        "registered a health listener.",
        _A17 + " (Client Behavior; Service Config Changes); " + _WRAPPER + " (healthListenerRegFn)",
    ),
    Requirement(
        "HEALTH-2",
        M,
        "A health listener registered while no health checking is configured reports READY at "
        "once, so the subchannel counts as healthy as soon as it is READY.",
        _A61
        + " ('the watch will report the subchannel's raw connectivity state'); "
        + _WRAPPER
        + " (noOpRegisterHealthListenerFn)",
    ),
    Requirement(
        "HEALTH-3",
        M,
        "A top-level pick_first never health-checks: it creates its subchannels without a "
        "health listener and reports READY as soon as its subchannel is READY, even when health "
        "checking is configured.",
        _A17 + " (pick_first); " + _A61 + "; " + _PF + " (healthCheckingEnabled); see PF-26",
    ),
    Requirement(
        "HEALTH-4",
        M,
        "round_robin makes its pick_first children watch health, so every subchannel they "
        "create is marked for a health listener.",
        _A61 + "; grpc-go balancer/roundrobin/roundrobin.go (pickfirst.EnableHealthListener)",
    ),
    Requirement(
        "HEALTH-5",
        M,
        "A health-watching leaf starts the watch only once it has chosen a READY subchannel, "
        "and reports CONNECTING until the first health update arrives.",
        _A61
        + " ('Only once pick_first chooses a subchannel will it start the health watch'); "
        + _A17
        + " (Race Conditions and Subchannel Startup); "
        + _PF
        + " (updateSubConnState); see PF-27",
    ),
    Requirement(
        "HEALTH-6",
        M,
        "The leaf then reports the health state as its own: READY with a picker on the "
        "subchannel, CONNECTING with a queueing picker, TRANSIENT_FAILURE with a picker failing "
        "with the health error.",
        _A61 + "; " + _PF + " (updateSubConnHealthState); see PF-27",
    ),
    Requirement(
        "HEALTH-7",
        M,
        "round_robin sends no pick to an endpoint whose health is not READY, and when no "
        "endpoint is healthy and none is connecting it reports TRANSIENT_FAILURE, failing picks "
        "with a child's error.",
        _A17 + " (round_robin: 'picks will not be assigned to it'); " + _HEALTH_STATE,
    ),
    Requirement(
        "HEALTH-8",
        M,
        "Unhealthiness costs no connection: a health update makes the leaf create, connect or "
        "shut down nothing, and a later health READY returns the endpoint to the rotation.",
        _A61
        + " (Reasons for Generic Health Reporting: no connection churn); "
        + _A17
        + " (TRANSIENT_FAILURE directly to READY)",
    ),
    Requirement(
        "HEALTH-9",
        M,
        "A health watch lasts only while its subchannel stays READY: once it leaves READY no "
        "more health updates arrive, and after reconnecting the leaf waits for a new first "
        "health update.",
        _WRAPPER
        + " (RegisterHealthListener; updateState invalidates the health data); "
        + _A17
        + " (the Watch call is cancelled on GOAWAY)",
    ),
)
