"""Requirements for subchannel connectivity, aggregation, the channel table and the models."""

from __future__ import annotations

from spec.catalogue.model import Level, Requirement

_SUBCHANNEL = "grpc/grpc doc/client_channel_specification.md#subchannel-connectivity-states"
_SUBCHANNEL_API = "grpc/grpc doc/client_channel_specification.md#subchannel-api"
_AGGREGATED = "grpc/grpc doc/client_channel_specification.md#aggregated-connectivity-states"
_ROUND_ROBIN = "grpc/grpc doc/client_channel_specification.md#round_robin"
_PICKER = "grpc/grpc doc/client_channel_specification.md#picker-api"
_ADDRCONN = "grpc-go clientconn.go (addrConn.updateConnectivityState)"
_EVALUATOR = "grpc-go balancer/conn_state_evaluator.go"

M, S, MAY = Level.MUST, Level.SHOULD, Level.MAY

REQUIREMENTS: tuple[Requirement, ...] = (
    # --- The subchannel machine ---
    Requirement("CONN-1", M, "A new subchannel is in IDLE.", _SUBCHANNEL),
    Requirement(
        "CONN-2",
        M,
        "A subchannel leaves IDLE for CONNECTING only after the LB policy requested a connection.",
        _SUBCHANNEL,
    ),
    Requirement(
        "CONN-3",
        M,
        "A subchannel becomes READY only from CONNECTING, when an attempt succeeds.",
        _SUBCHANNEL,
    ),
    Requirement(
        "CONN-4",
        M,
        "A subchannel enters TRANSIENT_FAILURE from CONNECTING when its attempt fails, "
        "and that state carries the connection error.",
        _SUBCHANNEL + "; grpc-go balancer/subconn.go (SubConnState.ConnectionError)",
    ),
    Requirement(
        "CONN-5",
        M,
        "A subchannel in TRANSIENT_FAILURE starts no connection attempt and, when its backoff "
        "delay expires, moves to IDLE: the text's value of the spec option "
        "subchannel.backoff_end (idle), which implementations may replace with connecting or "
        "connecting_if_requested.",
        _SUBCHANNEL + "; spec option subchannel.backoff_end: idle (the text, grpc-go, C-core), "
        "connecting (grpc-java), connecting_if_requested (grpc-js)",
    ),
    Requirement(
        "CONN-6", M, "A READY subchannel whose connection terminates moves to IDLE.", _SUBCHANNEL
    ),
    Requirement(
        "CONN-7",
        MAY,
        "A CONNECTING subchannel whose transport closes before it becomes READY may move "
        "straight to IDLE.",
        "grpc-go issue 7862; " + _ADDRCONN,
    ),
    Requirement(
        "CONN-8",
        M,
        "Any subchannel may be shut down, and SHUTDOWN is terminal.",
        "grpc-go balancer/subconn.go (SubConn.Shutdown); " + _ADDRCONN,
    ),
    Requirement(
        "CONN-9",
        M,
        "A subchannel state notification always names a state different from the previous one.",
        _ADDRCONN + " (returns early when the state is unchanged)",
    ),
    Requirement(
        "CONN-10",
        MAY,
        "Under the older seed profile a subchannel may also go TRANSIENT_FAILURE -> CONNECTING "
        "(retry) and READY -> TRANSIENT_FAILURE; the language-neutral text and grpc-go do "
        "neither, while grpc-java and grpc-js still take TRANSIENT_FAILURE -> CONNECTING "
        "(catalogue audit): the values connecting and connecting_if_requested of the spec "
        "option subchannel.backoff_end.",
        "the project seed's subchannel diagram; compare " + _SUBCHANNEL,
    ),
    Requirement(
        "CONN-11",
        M,
        "Connect on a subchannel that is not IDLE is a no-op.",
        _SUBCHANNEL_API,
    ),
    # --- Aggregation ---
    Requirement("AGG-1", M, "If any counted child is READY, the aggregate is READY.", _AGGREGATED),
    Requirement(
        "AGG-2",
        M,
        "Otherwise, if any counted child is CONNECTING, the aggregate is CONNECTING.",
        _AGGREGATED,
    ),
    Requirement(
        "AGG-3", M, "Otherwise, if any counted child is IDLE, the aggregate is IDLE.", _AGGREGATED
    ),
    Requirement(
        "AGG-4",
        M,
        "Otherwise, every counted child is in TRANSIENT_FAILURE and the aggregate is "
        "TRANSIENT_FAILURE.",
        _AGGREGATED,
    ),
    Requirement("AGG-5", M, "Children in SHUTDOWN are not counted.", _EVALUATOR),
    Requirement(
        "AGG-6",
        M,
        "With no counted children the aggregate is TRANSIENT_FAILURE.",
        _EVALUATOR + " (CurrentState with all counters zero)",
    ),
    Requirement(
        "AGG-7",
        M,
        "round_robin counts a child in IDLE as CONNECTING, because it asks that child to exit "
        "IDLE at once.",
        _ROUND_ROBIN + "; grpc-java util/RoundRobinLoadBalancer.java lines 62-73; C-core "
        "round_robin.cc (UpdateStateCountersLocked). grpc-go's endpointsharding.go (lines "
        "275-290) ranks IDLE between CONNECTING and TRANSIENT_FAILURE and grpc-js below "
        "TRANSIENT_FAILURE: spec option round_robin.idle_child",
    ),
    Requirement(
        "AGG-8",
        M,
        "The aggregate depends only on the multiset of child states, not on their order.",
        _AGGREGATED + " (first match wins over sets of states)",
    ),
    Requirement(
        "AGG-9",
        M,
        "An incremental evaluator that counts children per state agrees with the aggregation "
        "rule after every child transition.",
        _EVALUATOR + " (ConnectivityStateEvaluator.RecordTransition)",
    ),
    # --- The channel-level table ---
    Requirement("CHAN-1", M, "A new channel is in IDLE.", _AGGREGATED),
    Requirement(
        "CHAN-2",
        S,
        "A channel leaves IDLE for CONNECTING when the application sends an RPC or asks it to "
        "connect.",
        _AGGREGATED,
    ),
    Requirement(
        "CHAN-3",
        S,
        "From CONNECTING a channel goes to READY, to TRANSIENT_FAILURE, or (idle timeout) to IDLE.",
        _AGGREGATED,
    ),
    Requirement(
        "CHAN-4",
        S,
        "From READY a channel goes to IDLE (connection closed or idle timeout).",
        _AGGREGATED,
    ),
    Requirement(
        "CHAN-5",
        S,
        "From TRANSIENT_FAILURE a channel goes to READY when connectivity returns, or to IDLE on "
        "idle timeout.",
        _AGGREGATED,
    ),
    Requirement(
        "CHAN-6",
        MAY,
        "A channel in TRANSIENT_FAILURE reports CONNECTING before READY only in some cases.",
        _AGGREGATED,
    ),
    # --- Models crossing the boundary ---
    Requirement(
        "MODEL-1",
        M,
        "A subchannel or health state of TRANSIENT_FAILURE carries the error that caused it.",
        "grpc-go balancer/subconn.go (SubConnState); " + _SUBCHANNEL,
    ),
    Requirement(
        "MODEL-2",
        M,
        "A health state is one of CONNECTING, READY or TRANSIENT_FAILURE.",
        "grpc-go health/producer.go; gRFC A17",
    ),
    Requirement(
        "MODEL-3",
        M,
        "A subchannel is created with at least one address.",
        "grpc-go balancer/balancer.go (ClientConn.NewSubConn)",
    ),
    Requirement(
        "MODEL-4",
        M,
        "A pick that fails or drops carries a non-OK status.",
        _PICKER,
    ),
    Requirement(
        "MODEL-5",
        M,
        "Fail and Drop statuses use no code reserved by gRFC A54; the channel rewrites those to "
        "INTERNAL.",
        "gRFC A54; " + _PICKER,
    ),
)
