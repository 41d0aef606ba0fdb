"""Requirements every policy obeys at the balancer boundary."""

from __future__ import annotations

from spec.catalogue.model import Level, Requirement

_API = "grpc-go balancer/balancer.go"
_SUBCONN = "grpc-go balancer/subconn.go"
_PICKER = "grpc/grpc doc/client_channel_specification.md#picker-api"

M, S = Level.MUST, Level.SHOULD

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "LB-1", M, "A policy acts only on subchannels it created itself.", _API + " (NewSubConn)"
    ),
    Requirement(
        "LB-2",
        M,
        "A policy never connects or picks a subchannel after shutting it down.",
        _SUBCONN + " (Shutdown: the SubConn must not be used afterwards)",
    ),
    Requirement(
        "LB-3",
        M,
        "Close shuts down every subchannel the policy still holds, and the policy reports "
        "nothing after it.",
        "grpc-go balancer/pickfirst/pickfirst.go (Close shuts down its SubConns); "
        + _API
        + " (Balancer.Close only recommends it today, 'will be required in a future release')",
    ),
    Requirement("LB-4", M, "Every pick gets exactly one outcome.", _PICKER),
    Requirement(
        "LB-5",
        S,
        "A Complete pick returns a subchannel that is READY; the channel re-queues the RPC "
        "otherwise.",
        _PICKER + "; grpc-go picker_wrapper.go",
    ),
    Requirement(
        "LB-6",
        M,
        "Traces name subchannels by creation order, so any implementation's trace can be judged.",
        "this project: spec/events.py (SubchannelId)",
    ),
)
