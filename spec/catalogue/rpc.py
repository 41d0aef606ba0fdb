"""How a channel carries RPCs through its picker, and their load reports (area RPC).

These are the channel's duties around ``Picker.pick``; the real-I/O channel
(``refimpl/io/balanced_channel.py``) implements them and ``tests/io`` checks them with
real servers.
"""

from __future__ import annotations

from spec.catalogue.model import Level, Requirement

_PICKER = "grpc/grpc doc/client_channel_specification.md#picker-api"
_WRAPPER = "grpc-go picker_wrapper.go (pickerWrapper.pick)"

M, S = Level.MUST, Level.SHOULD

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "RPC-1",
        M,
        "An RPC whose pick is queued waits for the next picker and is picked again by it.",
        _PICKER + "; " + _WRAPPER + " (ErrNoSubConnAvailable)",
    ),
    Requirement(
        "RPC-2",
        M,
        "An RPC whose pick fails ends with the picker's status when it is fail-fast, and waits "
        "for the next picker when it is wait_for_ready.",
        _PICKER + "; " + _WRAPPER + " (non-status errors and failfast)",
    ),
    Requirement(
        "RPC-3",
        M,
        "An RPC whose pick is dropped ends with the picker's status even when it is "
        "wait_for_ready.",
        _PICKER + "; " + _WRAPPER + " (status errors end the RPC unconditionally)",
    ),
    Requirement(
        "RPC-4",
        M,
        "An RPC still waiting for a picker when its deadline passes ends with "
        "DEADLINE_EXCEEDED, naming the latest pick error if there was one.",
        _WRAPPER + " (ctx.Done: 'latest balancer error')",
    ),
    Requirement(
        "RPC-5",
        M,
        "An RPC whose pick completes is sent on the picked subchannel, and the pick's done "
        "callback runs once when that attempt ends, with its final status and trailers.",
        "grpc-go balancer/balancer.go (PickResult.Done, DoneInfo); stream.go (csAttempt.finish)",
    ),
    Requirement(
        "RPC-6",
        M,
        "The done callback carries the per-call ORCA load report parsed from the single "
        "trailer endpoint-load-metrics-bin, and no report when that trailer is missing, "
        "repeated or unparsable.",
        "grpc-go orca/internal/internal.go (ToLoadReport); gRFC A51",
    ),
    Requirement(
        "RPC-8",
        Level.MAY,
        "Where the transport hides that binary trailer, the report may be read from the "
        "trailer endpoint-load-metrics in the form 'BIN <base64>', 'TEXT name=value,...' or "
        "'JSON {...}', the binary trailer winning when both are present.",
        "envoy source/common/orca/orca_parser.h (kEndpointLoadMetricsHeader and its format "
        "prefixes); grpcio 1.85 does not publish endpoint-load-metrics-bin to the application",
    ),
    Requirement(
        "RPC-9",
        M,
        "A registered out-of-band listener gets the reports of an OpenRcaService "
        "StreamCoreMetrics stream run at its interval while its subchannel is READY, and no "
        "report once the subchannel has left READY.",
        "gRFC A51 (out-of-band reporting); grpc-go orca/producer.go",
    ),
    Requirement(
        "RPC-7",
        S,
        "A wait_for_ready RPC whose attempt provably never left the client is picked again "
        "while its deadline allows; an attempt that may have reached the server (UNAVAILABLE "
        "without headers, as from a killed backend) is never sent again.",
        "gRFC A6 (Transparent Retries: an RPC that never left the client is retried until "
        "its deadline)",
    ),
    Requirement(
        "RPC-10",
        M,
        "The picker is given the RPC's full method name and its metadata.",
        "grpc-go balancer/balancer.go (PickInfo: FullMethodName, and Ctx carrying the "
        "outgoing metadata); " + _PICKER,
    ),
)
