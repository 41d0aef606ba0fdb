"""Requirements of the weighted_round_robin policy (gRFC A58).

The policy is round_robin's machinery (one pick_first child per endpoint,
endpointsharding) with a weighted scheduler in the picker.  Where gRPC's
implementations differ the requirement names who does what: weight ratio caps
(WRR-15) are grpc C++'s and grpc-java's, not grpc-go's; durations follow
``spec.types.Duration`` (WRR-3), which is stricter than grpc-go's parser.
"""

from __future__ import annotations

from spec.catalogue.model import Level, Requirement

_A58 = "grpc/proposal A58-client-side-weighted-round-robin-lb-policy.md"
_GO = "grpc-go balancer/weightedroundrobin/balancer.go"
_GO_SCHED = "grpc-go balancer/weightedroundrobin/scheduler.go"
_CPP_SCHED = "grpc/grpc src/core/load_balancing/weighted_round_robin/static_stride_scheduler.cc"
_JAVA = "grpc-java xds/src/main/java/io/grpc/xds/WeightedRoundRobinLoadBalancer.java"
_DOC = "this project: docs/weighted_round_robin.md"

M, S, MAY = Level.MUST, Level.SHOULD, Level.MAY

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "WRR-1",
        M,
        "A config's absent or null fields take their defaults (enableOobLoadReport false, "
        "oobReportingPeriod 10s, blackoutPeriod 10s, weightExpirationPeriod 3m, "
        "weightUpdatePeriod 1s, errorUtilizationPenalty 1.0) and unknown fields are ignored.",
        _A58 + " (LB Policy Config and Parameters); null is 'not set' by the proto3 JSON "
        "mapping (protobuf.dev/programming-guides/json: null is accepted for every field and "
        "means its default); grpc-go rejects a null duration "
        "(internal/serviceconfig/duration.go UnmarshalJSON), a divergence",
    ),
    Requirement(
        "WRR-2",
        M,
        "A weightUpdatePeriod below 100ms is raised to 100ms.",
        _A58 + " (weight_update_period); " + _GO + " (bb.ParseConfig)",
    ),
    Requirement(
        "WRR-3",
        M,
        "A config is rejected, with an error naming the field, exactly when it is not a JSON "
        "object, a field has the wrong JSON type, a duration is not a non-negative protobuf "
        "JSON duration such as '1.5s' within the protobuf range, or errorUtilizationPenalty is "
        "negative.",
        _A58 + " (error_utilization_penalty); protobuf JSON mapping of google.protobuf.Duration; "
        "spec/types.py Duration (grpc-go internal/serviceconfig/duration.go also accepts "
        "negative durations and '.5s')",
    ),
    Requirement(
        "WRR-4",
        M,
        "A resolver update that comes without a config is rejected as a bad resolver state.",
        _GO + " (wrrBalancer.UpdateClientConnState returns an error for a nil config)",
    ),
    Requirement(
        "WRR-5",
        M,
        "A load report's utilization is application_utilization when non-zero, else "
        "cpu_utilization; a report whose utilization or qps is zero is ignored, and any other "
        "report sets the endpoint's weight to qps / (utilization + eps / qps * "
        "errorUtilizationPenalty) unless that is not a positive finite number.",
        _A58 + " (Subchannel Weights); " + _GO + " (endpointWeight.OnLoadReport)",
    ),
    Requirement(
        "WRR-6",
        M,
        "When the picker that completed a pick was built with enableOobLoadReport false, the "
        "load report carried by that RPC's Done updates the weight of the endpoint it was "
        "picked for; otherwise per-call reports are ignored.",
        _A58 + " (Per-Call Load Reporting); " + _GO + " (picker.Pick)",
    ),
    Requirement(
        "WRR-7",
        M,
        "While enableOobLoadReport is true the policy listens for out-of-band load reports on "
        "each endpoint's READY subchannel at interval oobReportingPeriod and each report updates "
        "that endpoint's weight; the listener stops when the subchannel leaves READY, when the "
        "option is turned off and on Close.",
        _A58 + " (OOB Load Reporting); " + _GO + " (endpointWeight.updateORCAListener, "
        "wrrBalancer.updateSubConnState)",
    ),
    Requirement(
        "WRR-8",
        M,
        "An endpoint's effective weight is 0 (unknown) before its first accepted report and "
        "while less than blackoutPeriod has passed since the first accepted report of its "
        "current run; a blackoutPeriod of 0s disables the blackout.",
        _A58 + " (GetWeight); " + _GO + " (endpointWeight.weight)",
    ),
    Requirement(
        "WRR-9",
        M,
        "An effective weight looked up when the last accepted report is at least "
        "weightExpirationPeriod old is 0, and that lookup ends the current run so that the "
        "next accepted report starts a new blackout.",
        _A58 + " (GetWeight); " + _GO + " (endpointWeight.weight)",
    ),
    Requirement(
        "WRR-10",
        M,
        "When a subchannel of an endpoint that has no READY subchannel becomes READY, the "
        "endpoint forgets the start of its run (non_empty_since), so its weight is unknown "
        "until a blackout has passed again; under weighted_round_robin.weight_on_reconnect="
        "reset_all it also forgets its last report time.",
        _A58 + " (OnSubchannelBecomesReady resets non_empty_since only); grpc-java "
        "WeightedRoundRobinLoadBalancer.java lines 488-493, C-core weighted_round_robin.cc "
        "(ResetNonEmptySince) and grpc-js load-balancer-weighted-round-robin.ts lines 414-416 "
        "do the same; grpc-go resets both (balancer.go lines 374-380): spec option",
    ),
    Requirement(
        "WRR-11",
        M,
        "An endpoint's weight state lives as long as the endpoint stays in the resolver's list: "
        "updates that keep the endpoint keep it, and an update that drops the endpoint "
        "forgets it.",
        _GO + " (wrrBalancer.updateEndpointsLocked)",
    ),
    Requirement(
        "WRR-12",
        M,
        "Each picker the policy reports while some endpoint is READY serves exactly those "
        "READY endpoints through a scheduler built from their effective weights when the picker "
        "is made and rebuilt every weightUpdatePeriod after that while it serves two or more; "
        "with no READY endpoint the round_robin state and picker pass through.",
        _A58
        + " (Earliest Deadline First (EDF) Scheduler); "
        + _GO
        + " (wrrBalancer.UpdateState, picker.start)",
    ),
    Requirement(
        "WRR-13",
        M,
        "A scheduler with fewer than two non-zero weights, or whose weights are all equal after "
        "WRR-14 and WRR-15, is round robin: over any window of W consecutive picks each of its n "
        "endpoints gets W/n picks within less than 2.",
        _A58
        + " (less than two subchannels with load info behave as round_robin); "
        + _GO_SCHED
        + " (newScheduler, rrScheduler; the 32-bit sequence counter's wrap is why not 1)",
    ),
    Requirement(
        "WRR-14",
        M,
        "A weighted scheduler serves an endpoint whose effective weight is 0 with the mean of "
        "the non-zero weights.",
        _A58 + " (zero weights are picked with the average weight); " + _GO_SCHED,
    ),
    Requirement(
        "WRR-15",
        S,
        "A weighted scheduler clamps each non-zero weight to between 0.01 and 10 times the mean "
        "of the non-zero weights, as grpc C++ and this reference do; grpc-java clamps to 0.1 "
        "and 10 and grpc-go does not clamp (spec option weighted_round_robin.weight_caps).",
        _CPP_SCHED + " (kMaxRatio, kMinRatio); " + _JAVA + " (StaticStrideScheduler); " + _GO_SCHED,
    ),
    Requirement(
        "WRR-16",
        M,
        "Over any window of W consecutive picks served by one weighted scheduler over n "
        "endpoints with weights w (after WRR-14 and WRR-15), endpoint i gets W * w_i / sum(w) "
        "picks within less than 4(n-1) + W(n+1)/65534.",
        _A58 + "; the bound: " + _DOC,
    ),
    Requirement(
        "WRR-17",
        S,
        "A pick costs O(1) amortised whatever the number of endpoints: the static stride "
        "scheduler takes no lock, is rebuilt in O(n), and consumes max(w)/mean(w) sequence "
        "numbers per pick on average, at most 1000 with the WRR-15 caps.",
        _A58 + " (cheap to create, concurrent picks with minimal contention); " + _CPP_SCHED,
    ),
    Requirement(
        "WRR-18",
        MAY,
        "An implementation may serve the weights with the project seed's smooth weighted round "
        "robin (add each weight to its credit, pick the most credit, charge it the total), which "
        "meets WRR-16 at O(n) per pick under a lock; gRPC uses the static stride scheduler.",
        "the project seed; " + _DOC,
    ),
    Requirement(
        "WRR-19",
        M,
        "Close cancels the weight update timer and stops every out-of-band listener.",
        _GO + " (wrrBalancer.Close)",
    ),
    Requirement(
        "WRR-20",
        M,
        "The scheduler sequence of each new picker starts at a random position, so the first "
        "pick after every change is spread over the READY endpoints by their weights (under "
        "weighted_round_robin.start_index=shared_counter, grpc-java's and C-core's value: one "
        "counter, drawn at random once per policy, continues across pickers).",
        _A58 + " (EDF: each subchannel's first deadline 'a random value in the range [0, period]'; "
        "the picker works 'the same externally as in round_robin', RR-7); "
        + _GO
        + " line 301 (picker.idx, rand.Uint32); grpc-java and C-core share one counter across "
        "pickers: spec option weighted_round_robin.start_index",
    ),
)
