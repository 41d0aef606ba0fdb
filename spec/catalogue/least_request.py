"""Requirements of the least_request_experimental policy (gRFC A48).

The policy is round_robin's machinery (one pick_first child per endpoint,
endpointsharding) with a power-of-k-choices picker over outstanding-request
counts.  The counts' lifetime (LR-9) follows A48's "share the lifecycle" and
is stated eagerly; grpc-go drops a count only when it next builds a picker with
a READY endpoint.
"""

from __future__ import annotations

from spec.catalogue.model import Level, Requirement

_A48 = "grpc/proposal A48-xds-least-request-lb-policy.md"
_GO = "grpc-go balancer/leastrequest/leastrequest.go"

M, MAY = Level.MUST, Level.MAY

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "LR-1",
        M,
        "A config is a JSON object whose choiceCount defaults to 2 when absent or null; unknown "
        "fields are ignored, and a config with a valid choiceCount is accepted.",
        _A48 + " (LB Policy Config); " + _GO + " (bb.ParseConfig)",
    ),
    Requirement(
        "LR-2",
        M,
        "A choiceCount below 2 rejects the config.",
        _A48 + " (LB Policy Config); " + _GO + " (bb.ParseConfig)",
    ),
    Requirement(
        "LR-3",
        M,
        "A choiceCount above 10 is treated as 10.",
        _A48 + " (LB Policy Config); " + _GO + " (bb.ParseConfig)",
    ),
    Requirement(
        "LR-4",
        M,
        "A config that is not a JSON object, or whose choiceCount is not a JSON integer in the "
        "unsigned 32-bit range, is rejected with an error naming the field.",
        _GO + " (bb.ParseConfig: json.Unmarshal into a uint32)",
    ),
    Requirement(
        "LR-5",
        M,
        "A resolver update that comes without a config is rejected as a bad resolver state.",
        _GO + " (leastRequestBalancer.UpdateClientConnState)",
    ),
    Requirement(
        "LR-6",
        M,
        "Each picker the policy reports while some endpoint is READY serves exactly those READY "
        "endpoints; with no READY endpoint the round_robin state and picker pass through.",
        _A48 + " (Picker Behavior); " + _GO + " (leastRequestBalancer.UpdateState)",
    ),
    Requirement(
        "LR-7",
        M,
        "A pick draws choiceCount samples uniformly with replacement from the picker's "
        "endpoints using the injected random source, and a later sample replaces the candidate "
        "only when its outstanding count is strictly lower, so ties keep the earlier sample.",
        _A48 + " (Picker Behavior pseudo-code); " + _GO + " (picker.Pick)",
    ),
    Requirement(
        "LR-8",
        M,
        "An endpoint's outstanding count rises by one when a pick completes on it and falls by "
        "one when that RPC's Done arrives whatever its status, so it is never negative and is "
        "zero once every RPC picked on it is done.",
        _A48 + " (Outstanding request counters); " + _GO + " (picker.Pick)",
    ),
    Requirement(
        "LR-9",
        M,
        "An endpoint's count persists across pickers while the endpoint stays READY and is "
        "dropped when it leaves READY, so it restarts from zero and a Done of an RPC picked "
        "before does not touch the new count.",
        _A48
        + " (counters share the lifecycle of their subchannel); "
        + _GO
        + " (UpdateState; grpc-go drops the count only at its next picker with a READY endpoint)",
    ),
    Requirement(
        "LR-10",
        M,
        "Picks follow the law of LR-7: with k = choiceCount, n endpoints and their counts, "
        "endpoint i is chosen with probability ((a/n)^k - (b/n)^k) / m, where a, b and m count "
        "the endpoints whose count is at least, above and equal to that of i (with counts "
        "[0, x] and k = 2 the loaded endpoint gets 1/4), and over a trace the picks of each "
        "endpoint, and the picks not of a least-loaded endpoint, stay within Freedman's bound "
        "at confidence 1e-9 of their expectation.",
        _A48 + " (Picker Behavior); this project: spec/monitors/least_request.py (freedman_bound)",
    ),
    Requirement(
        "LR-11",
        MAY,
        "An implementation may replace sampling by the project seed's full scan, which picks an "
        "endpoint with the smallest count; it keeps the accounting of LR-8 and LR-9 but not "
        "LR-7 and LR-10.",
        "the project seed; " + _A48 + " (Rationale: P2C is nearly as good as a full scan)",
    ),
)
