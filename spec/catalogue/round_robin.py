"""Requirements for round_robin: endpoint sharding over pick_first leaves.

round_robin keeps one pick_first child per endpoint and round-robins over the
children that are READY.  grpc-go builds it from ``balancer/endpointsharding``
(one child per endpoint, aggregation, the picker) and ``balancer/roundrobin``
(pick_first children that watch health, no config).

Where the language-neutral text and grpc-go differ, the requirement says which
one this project follows:

* TRANSIENT_FAILURE picks: the text says the status includes "the error from the
  most recent subchannel connection failure"; grpc-go rotates over the failing
  children's pickers, so each pick carries one child's own error.  We follow
  grpc-go (RR-9); a monitor accepts any failing child's error.
* IDLE children: grpc-go's aggregation would report IDLE when only IDLE children
  are left, but it calls their ExitIdle at once, so IDLE never lasts; the text
  (and AGG-7) counts IDLE as CONNECTING, which is what we report (RR-5).
* Batching: the text does not say how many reports an update causes; grpc-go
  holds the children's reports back and reports once (RR-10, a SHOULD).
* Repeated endpoints: the text does not say what an endpoint listed twice in one
  update gets; grpc-go skips the repeat, grpc-java keeps the last one's addresses,
  C-core and grpc-js build a child per copy: spec option
  round_robin.repeated_endpoint (RR-2).
* Resolver errors and ExitIdle: the text leaves a resolver error to the policy and
  calls ExitIdle a no-op for most policies; the implementations differ, so both are
  spec options (round_robin.resolver_error, round_robin.exit_idle; RR-13, RR-10).
"""

from __future__ import annotations

from spec.catalogue.model import Level, Requirement

_SPEC = "grpc/grpc doc/client_channel_specification.md#round_robin"
_A61 = "gRFC A61 (petiole policies; Address List Updates in Java/Go)"
_ES = "grpc-go balancer/endpointsharding/endpointsharding.go"
_RR = "grpc-go balancer/roundrobin/roundrobin.go"
_RR_TEST = "grpc-go test/roundrobin_test.go"

M, S = Level.MUST, Level.SHOULD

REQUIREMENTS: tuple[Requirement, ...] = (
    Requirement(
        "RR-1",
        M,
        "round_robin creates one pick_first child for each distinct endpoint (for each listed "
        "copy under round_robin.repeated_endpoint=every_copy, RR-2), gives it that endpoint "
        "alone with all of its addresses in order, and the child starts connecting at once, so "
        "every subchannel serves addresses of one current endpoint.",
        _SPEC + "; " + _A61 + "; " + _ES + " (UpdateClientConnState); " + _RR + " (Build)",
    ),
    Requirement(
        "RR-2",
        M,
        "Two endpoints are the same when their unordered sets of addresses are equal: an "
        "endpoint kept across updates keeps its child, which is sent the endpoint's new address "
        "order (round_robin.children_on_update=kept; under rebuilt every child is replaced "
        "and no monitor judges it); a repeat within one update gets a child of its own, or "
        "is skipped, its child given the first or the last repeat's address order, as the "
        "spec option "
        "round_robin.repeated_endpoint says (every_copy, first_wins, last_wins).",
        _A61
        + "; "
        + _ES
        + " (UpdateClientConnState: 'Skip duplicate endpoints'); grpc-go resolver/map.go "
        "(EndpointMap); spec option round_robin.children_on_update; spec option "
        "round_robin.repeated_endpoint: every_copy (C-core "
        "endpoint_list.cc EndpointList::Init, grpc-js load-balancer-round-robin.ts:248-256; the "
        "default), first_wins (grpc-go endpointsharding.go:145-148), last_wins (grpc-java "
        "MultiChildLoadBalancer.java:87-99)",
    ),
    Requirement(
        "RR-3",
        M,
        "A child whose endpoint is missing from a new update is closed, which shuts its "
        "subchannels down.",
        _A61 + "; " + _ES + " (UpdateClientConnState: 'Delete old children')",
    ),
    Requirement(
        "RR-4",
        M,
        "An update with no endpoints closes every child, is rejected as a bad resolver state, "
        "and leaves the policy in TRANSIENT_FAILURE failing picks with UNAVAILABLE 'no children "
        "to pick from'; any other update is accepted.",
        _SPEC
        + " ('empty address list'); "
        + _ES
        + " (ErrBadResolverState); "
        + _RR_TEST
        + " (TestRoundRobin_AddressesRemoved)",
    ),
    Requirement(
        "RR-5",
        M,
        "The policy reports READY if any child is READY, else CONNECTING if any child is "
        "CONNECTING or IDLE, else TRANSIENT_FAILURE, also when it has no children (AGG-7).",
        _SPEC + " ('treats IDLE as CONNECTING'); grpc-java util/RoundRobinLoadBalancer.java "
        "lines 62-73; C-core round_robin.cc (UpdateStateCountersLocked). grpc-go "
        "(endpointsharding.go lines 275-290) and grpc-js differ: spec option "
        "round_robin.idle_child",
    ),
    Requirement(
        "RR-6",
        M,
        "A child that reports IDLE is asked to exit IDLE at once, so every endpoint keeps "
        "trying to stay connected.",
        _SPEC
        + " ('round_robin will immediately call the child's ExitIdle()'); "
        + _ES
        + " (endpointState.UpdateState)",
    ),
    Requirement(
        "RR-7",
        M,
        "While READY, every pick goes to a READY child in a fixed cyclic order, each READY "
        "child once per round, starting at a random position in each new picker (under "
        "round_robin.start_index=shared_counter: where the previous picker left off).",
        _SPEC
        + "; "
        + _ES
        + " line 300 (pickerWithChildStates); "
        + _RR_TEST
        + " (TestRoundRobin_Basic); grpc-java and grpc-js continue across pickers: spec option "
        "round_robin.start_index",
    ),
    Requirement(
        "RR-8",
        M,
        "While CONNECTING, every pick is queued.",
        _SPEC + " ('In this case, the picker will queue picks')",
    ),
    Requirement(
        "RR-9",
        M,
        "While TRANSIENT_FAILURE, every pick fails (a wait_for_ready RPC waits) with a status "
        "carrying the error of the most recent failure a child reported (under "
        "round_robin.failure_error=rotating_children, grpc-go's and grpc-java's value: a "
        "failing child's own error, the failing children's pickers taking turns).",
        _SPEC + " ('the error from the most recent subchannel connection failure'); C-core "
        "round_robin.cc and grpc-js load-balancer-round-robin.ts agree; "
        + _ES
        + " (updateStateLocked: TRANSIENT_FAILURE pickers) and grpc-java "
        "RoundRobinLoadBalancer.java rotate: spec option round_robin.failure_error; "
        "gRFC A61 ('error messages'); " + _RR_TEST + " (TestRoundRobin_AllServersDown)",
    ),
    Requirement(
        "RR-10",
        S,
        "A resolver update reaches every child before the policy reports, and the policy then "
        "reports exactly once, holding back the children's reports in between; so does a "
        "resolver error it passes on or reports, and an ExitIdle it forwards.",
        _ES + " (inhibitChildUpdates, allowUpdatesFromChildren); whether a resolver error and "
        "ExitIdle are passed on is a spec option: round_robin.resolver_error (grpc-go passes "
        "it on; C-core and grpc-js ignore it; grpc-java reports it unless READY) and "
        "round_robin.exit_idle (grpc-go forwards it; grpc-java, C-core and grpc-js do nothing)",
    ),
    Requirement(
        "RR-11",
        M,
        "Outside those calls, every state change of a child is followed at once by a new "
        "aggregated report and picker.",
        _ES + " (endpointState.UpdateState); " + _SPEC,
    ),
    Requirement(
        "RR-12",
        S,
        "Each update rotates the endpoint list by a uniformly random amount before creating "
        "children, so that clients given the same list do not all start with its first endpoint.",
        _ES + " (rotateEndpoints); grpc-go endpointsharding_test.go (TestRotateEndpoints)",
    ),
    Requirement(
        "RR-13",
        M,
        "A resolver error never stops a READY endpoint serving, and with no children yet the "
        "policy reports TRANSIENT_FAILURE; with children it ignores the error, passes it to "
        "every child or, unless READY, reports TRANSIENT_FAILURE with it, as the spec option "
        "round_robin.resolver_error says.",
        _ES + " (ResolverError); grpc-go endpointsharding_ext_test.go "
        "(TestEndpointShardingBasic); grpc/grpc doc/client_channel_specification.md"
        "#starting-name-resolution and #resolver-results ('the LB policy is responsible for "
        "determining how to handle that error'); spec option round_robin.resolver_error: "
        "ignore (C-core round_robin.cc UpdateLocked, grpc-js load-balancer-round-robin.ts:"
        "225-234; the default), pass_to_children (grpc-go endpointsharding.go:202-208), "
        "report_failure (grpc-java MultiChildLoadBalancer.java:141-145)",
    ),
    Requirement(
        "RR-14",
        M,
        "A child's request for re-resolution is passed on to the policy's parent.",
        _SPEC
        + " ('which round_robin forwards to its parent'); "
        + _ES
        + " (endpointState embeds the parent ClientConn)",
    ),
    Requirement(
        "RR-15",
        M,
        "round_robin takes no configuration: a config it is given is ignored and its children "
        "get none.",
        _RR + " (no ParseConfig; rrBalancer passes no BalancerConfig); "
        "grpc-go internal/serviceconfig/serviceconfig.go (BalancerConfig.UnmarshalJSON: a builder "
        "without ConfigParser gets no config, a non-empty one is only logged)",
    ),
    Requirement(
        "RR-16",
        M,
        "The picker is safe to call from many threads at once and keeps the even spread under "
        "concurrent picks.",
        _SPEC
        + " ('The picker will need appropriate synchronization'); "
        + _ES
        + " (atomic.AddUint32 in Pick)",
    ),
)
