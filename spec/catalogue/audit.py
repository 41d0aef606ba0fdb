# ruff: noqa: E501  -- a table of citations: one finding per line reads better than wrapped strings
"""The catalogue audit (issue 14): for each requirement, does each cited source say it?

Each entry lists, per implementation whose source was read for the requirement, what
that source does: "agrees", or "differs" (a legitimate choice: the spec option that
covers it, spec/options.py), or "diverges" (a divergence with a case and an
expectations entry).  Sources read: grpc-go v1.85.0 (module cache), grpc-java master
at 5fda0c7, @grpc/grpc-js 1.14.7 src/, C-core from grpc/grpc as indexed.

Audited so far (session of issue 14): the requirements that have an entry below --
every MUST of pick_first (PF), round_robin (RR) and aggregation (AGG) against grpc-go
and, where it speaks, the language-neutral text; WRR-1, 2, 4..15, 19 and
LR-1..9 against grpc-go; the options' requirements against all four
implementations.  grpc-java and grpc-js were read for the options' requirements; grpc-java's leaf
pick_first also for PF-2, 11, 16, 19, 20, 25, 28 and grpc-js for PF-11, 13, 14, 28 (every
difference found there is triaged: a spec option, or a divergence with a case and an
expectations entry; options4 triaged the last two, PF-14 for grpc-js and PF-16 for
grpc-java).  The channel-side areas are in
:mod:`spec.catalogue.audit_channel`.

Third helper of issue 14 (the rest of the catalogue): RR-10, 12, WRR-3, 16..18 and
LR-10, 11 against their gRFC (grpc/proposal at 1fd061a), grpc-go v1.85.0, grpc-java
(5fda0c7; the 1.85.1 sources are not on this machine) and grpc-js 1.14.7.  WRR-16's and
LR-10's bounds are this project's; the entries say which part an external source states.
CONF-1..11 are the suite's own rules: their entry is :data:`OWN_RULE`, no external source
to check.  Every requirement now has an entry.
Issue 17 (helper gsopt): WRR-20 against grpc-go v1.85.0, grpc-java 5fda0c7, C-core
(weighted_round_robin.cc as indexed, 0723509) and grpc-js 1.14.7.
"""

from __future__ import annotations

_GO = "grpc-go v1.85.0"
_JAVA = "grpc-java 5fda0c7"
_JS = "grpc-js 1.14.7"
_CORE = "C-core"
_TEXT = "client_channel_specification.md"

# The entry of a requirement that is this project's own rule (the conformance suite's,
# CONF): no gRPC source states it, so there is nothing external to check it against.
# The projects its source names (Bowtie, test262, WPT, ...) are models, not authorities.
OWN_RULE = "this project: its own rule (conformance/PROTOCOL.md); no external source to check"

AUDIT: dict[str, tuple[str, ...]] = {
    "PF-2": (
        f"{_CORE}: agrees (pick_first.cc UpdateLocked: 'address list must not be empty')",
        f"{_JAVA}: agrees (leaf: PickFirstLeafLoadBalancer.java:105-110 -> handleNameResolutionError 275-287; returns UNAVAILABLE)",
    ),
    "PF-7": (
        f"{_GO}: agrees with three_families (pickfirst.go:413-462)",
        f"{_JAVA}: differs, two_families (PickFirstLeafLoadBalancer.java:795-820)",
        f"{_JS}: differs, two_families (load-balancer-pick-first.ts:139-165)",
        f"{_CORE}: three families or more, one per URI scheme (pick_first.cc GetAddressFamily)",
        f"{_GO}: agrees (pickfirst.go:213-220: shuts down, TF 'name resolver error: produced zero addresses', ErrBadResolverState)",
        f"{_TEXT}: agrees (pick_first: 'report TRANSIENT_FAILURE and return an error')",
    ),
    "PF-12": (
        f"{_GO}: agrees (pickfirst.go:569, 250 ms)",
        f"{_JS}: agrees (load-balancer-pick-first.ts:60,417)",
        f"{_JAVA}: differs, off by default (PickFirstLoadBalancerProvider.java:36-44): "
        "pick_first.happy_eyeballs",
    ),
    "PF-18": (f"{_GO}: agrees (pickfirst.go:323-328, forceUpdateConcludedStateLocked)",),
    "PF-22": (
        f"{_GO}: agrees (pickfirst.go:189-200)",
        f"{_JS}: agrees (load-balancer-pick-first.ts:519-527)",
        f"{_JAVA}: differs, drops every subchannel (PickFirstLeafLoadBalancer.java:275-287): "
        "pick_first.resolver_error_with_addresses",
        f"{_CORE}: agrees (pick_first.cc UpdateLocked keeps the previous addresses on a resolver error)",
    ),
    "PF-24": (
        f"{_GO}: agrees once PF-18's exception is stated (pickfirst.go:792-800, 323-328); "
        "the old text contradicted it",
    ),
    "PF-28": (
        f"{_GO}: differs, the subchannel re-resolves (pickfirst.go:716-719): "
        "pick_first.reresolution",
        f"{_JS}: differs, asks on failures (load-balancer-pick-first.ts:313-317) but not on a "
        "lost connection (351-354; the channel re-resolves on leaving IDLE): "
        "pick_first.reresolution=grpc_js",
        f"{_JAVA}: agrees (leaf: PickFirstLeafLoadBalancer.java:303-305 on READY -> IDLE, 392-396 after a pass / N failures)",
    ),
    "RR-4": (f"{_CORE}: agrees (round_robin.cc UpdateLocked: 'empty address list', rejected)",),
    "RR-5": (
        f"{_JAVA}: agrees (RoundRobinLoadBalancer.java:62-73)",
        f"{_CORE}: agrees (round_robin.cc UpdateStateCountersLocked)",
        f"{_GO}: differs, IDLE above TF (endpointsharding.go:275-290): round_robin.idle_child",
        f"{_JS}: differs, IDLE below TF (load-balancer-round-robin.ts:142-182)",
        f"{_GO}: agrees (endpointsharding.go:186-188, 292 'no children to pick from')",
        f"{_TEXT}: agrees",
    ),
    "RR-6": (
        f"{_JAVA}: agrees (RoundRobinLoadBalancer.java:107-111: requestConnection on a child's IDLE; not while resolvingAddresses, but then the child's addresses are unchanged, since children are keyed by their address set, MultiChildLoadBalancer.Endpoint, so no pick_first child reports IDLE there)",
        f"{_CORE}: agrees (round_robin.cc OnStateUpdate: ExitIdleLocked)",
        f"{_JS}: agrees (load-balancer-round-robin.ts:187-191)",
        f"{_GO}: agrees (endpointsharding.go:352-354: go es.exitIdle())",
        f"{_TEXT}: agrees",
    ),
    "RR-7": (
        f"{_GO}: agrees, random start (endpointsharding.go:300)",
        f"{_CORE}: agrees, random start (round_robin.cc Picker::Picker)",
        f"{_JAVA}: shared counter across pickers (RoundRobinLoadBalancer.java:46,154): "
        "round_robin.start_index; the cyclic-order part agrees",
        f"{_JS}: continues from the previous picker (load-balancer-round-robin.ts:146-154)",
    ),
    "RR-13": (
        f"{_CORE}: agrees, ignore (round_robin.cc UpdateLocked keeps the existing list, tells no child, does not report): round_robin.resolver_error",
        f"{_JS}: agrees, ignore (load-balancer-round-robin.ts:225-234: reports only with no children): round_robin.resolver_error",
        f"{_GO}: agrees, pass_to_children (endpointsharding.go:202-208): round_robin.resolver_error",
        f"{_JAVA}: agrees, report_failure (MultiChildLoadBalancer.java:141-145: TRANSIENT_FAILURE with the error unless READY; no child is told): round_robin.resolver_error",
        f"{_TEXT}: silent with children ('the LB policy is responsible for determining how to handle that error'); TRANSIENT_FAILURE before any result (#starting-name-resolution)",
    ),
    "AGG-7": (
        f"{_JAVA}: agrees (RoundRobinLoadBalancer.java:62-73)",
        f"{_CORE}: agrees (round_robin.cc UpdateStateCountersLocked)",
        f"{_GO}: differs (endpointsharding.go:275-290): round_robin.idle_child",
        f"{_JS}: differs (load-balancer-round-robin.ts:142-182)",
        f"{_GO}: agrees (endpointsharding.go:202-208 ResolverError, then one update)",
    ),
    "WRR-1": (
        f"{_GO}: diverges on null durations (internal/serviceconfig/duration.go:61-68; case "
        "wrr-null-duration-takes-default)",
    ),
    "WRR-2": (f"{_JS}: agrees (load-balancer-weighted-round-robin.ts:113)",),
    "WRR-8": (
        f"{_GO}: agrees (weightedroundrobin/balancer.go:649)",
        f"{_JS}: agrees (load-balancer-weighted-round-robin.ts:292)",
        f"{_GO}: agrees (weightedroundrobin/balancer.go:144-146)",
    ),
    "WRR-9": (
        f"{_GO}: agrees (weightedroundrobin/balancer.go:644)",
        f"{_JS}: agrees (load-balancer-weighted-round-robin.ts:287-288)",
    ),
    "WRR-10": (
        f"{_JAVA}: agrees (WeightedRoundRobinLoadBalancer.java:488-493)",
        f"{_CORE}: agrees (weighted_round_robin.cc ResetNonEmptySince)",
        f"{_JS}: agrees (load-balancer-weighted-round-robin.ts:414-416)",
        f"{_GO}: differs, resets both (weightedroundrobin/balancer.go:374-380): "
        "weighted_round_robin.weight_on_reconnect",
    ),
    "WRR-15": (
        f"{_GO}: differs, no clamping (weightedroundrobin/scheduler.go:34-80)",
        f"{_JAVA}: differs, 0.1..10 (WeightedRoundRobinLoadBalancer.java:660-661)",
    ),
    "LR-8": (f"{_GO}: agrees (leastrequest.go:238,244)",),
    "LR-9": (
        f"{_GO}: differs (leastrequest.go:182-201): least_request_experimental.count_lifetime",
        f"{_JAVA}: differs, child lifetime (LeastRequestLoadBalancer.java:329-330)",
    ),
    "SC-6": (
        f"{_GO}: agrees (service_config.go:185-196)",
        f"{_JAVA}: differs, lower-cased and invalid (ServiceConfigUtil.java:293-300): "
        "service_config.unknown_policy_name",
        f"{_CORE}: differs, lower-cased and invalid (client_channel_service_config.cc)",
        f"{_JS}: differs, the field is never read (service-config.ts:384-388)",
    ),
    "PF-1": (
        f"{_GO}: agrees (pickfirst.go:96-102, json.Unmarshal into a bool: null is a no-op, unknown fields ignored)",
    ),
    "PF-3": (f"{_GO}: agrees (pickfirst.go:323: prevAddrsCount == 0 reports CONNECTING)",),
    "PF-4": (
        f"{_GO}: agrees (pickfirst.go:277-280)",
        f"{_TEXT}: agrees (pick_first: 'concatenating the lists of addresses')",
    ),
    "PF-5": (
        f"{_GO}: agrees (pickfirst.go:237-273; weighted shuffling on by default, envconfig.go:106)",
    ),
    "PF-6": (
        f"{_GO}: agrees (pickfirst.go:388-400; resolver/map.go:60 keys on Addr and ServerName, then Attributes)",
    ),
    "PF-8": (
        f"{_GO}: agrees (pickfirst.go:311-313: returns before any change)",
        f"{_TEXT}: agrees (pick_first: 'stay in this state until ...')",
    ),
    "PF-9": (
        f"{_GO}: agrees (pickfirst.go:475-491 reconcileSubConnsLocked; other shutdowns only in Close 344-350, shutdownRemainingLocked 493-506 (READY: 613; leaving READY: 659) and the empty update 217)",
    ),
    "PF-10": (
        f"{_JAVA}: agrees (PickFirstLeafLoadBalancer.java:143-168: READY -> IDLE)",
        f"{_CORE}: agrees (pick_first.cc SubchannelData::OnConnectivityStateChange -> GoIdle)",
        f"{_GO}: differs for a removed READY address (pickfirst.go:315-331): pick_first.selected_address_removed; agrees otherwise",
        f"{_TEXT}: agrees since the text's IDLE became the default (grpc-go: pick_first.selected_address_removed=reconnects)",
    ),
    "PF-11": (
        f"{_GO}: agrees, lazy (pickfirst.go:508-556 requestConnectionLocked; newSCData at 520)",
        f"{_JS}: differs, eager: creates every subchannel up front (load-balancer-pick-first.ts:474-479 connectToAddressList): pick_first.subchannel_creation",
        f"{_JAVA}: agrees, lazy, in the leaf policy (PickFirstLeafLoadBalancer.java:520-524 requestConnection); the legacy policy creates one subchannel for the whole list (PickFirstLoadBalancer.java:73-76): pick_first.subchannel_creation",
        f"{_CORE}: differs, eager (pick_first.cc PickFirst::SubchannelList::SubchannelList: 'Create a subchannel for each address'): pick_first.subchannel_creation",
        f"{_TEXT}: agrees, eager, the option's default ('create a new list of subchannels using the last address list ... and start connecting to them')",
    ),
    "PF-13": (
        f"{_GO}: agrees (pickfirst.go:684-701: cancel (691), increment, requestConnectionLocked)",
        f"{_JS}: agrees (load-balancer-pick-first.ts:363-371 -> startNextSubchannelConnecting 379-393)",
    ),
    "PF-14": (
        f"{_GO}: agrees (pickfirst.go:727-750 endFirstPassIfPossibleLocked; IDLE ignored in the first pass)",
        f"{_JS}: diverges: onSubchannelStateUpdate asks every listed subchannel that reports any state to connect, also in the first pass (load-balancer-pick-first.ts:373), where gRFC A61 keeps retrying all addresses only 'if the first pass completes without a successful connection attempt'; a failed address's backoff therefore ends in CONNECTING while the pass is at the next one (subchannel.ts:226-236). Cases pf-backed-off-address-waits-for-end-of-pass, pf-duplicate-address-gets-one-turn-per-pass (ERROR: the adapter reports the request), expectations grpc-js.json, docs/findings.md (grpc-js, smaller divergences)",
    ),
    "PF-15": (
        f"{_GO}: agrees (pickfirst.go:727-750)",
        f"{_TEXT}: agrees ('include the error from the most recent subchannel connection failure')",
    ),
    "PF-16": (
        f"{_GO}: agrees (pickfirst.go:705-722: CONNECTING ignored, IDLE connected (720), TF every N (708-715))",
        f"{_TEXT}: agrees ('will not transition to CONNECTING in between')",
        f"{_JAVA}: differs, re-reports TRANSIENT_FAILURE after every failure once the pass is complete (PickFirstLeafLoadBalancer.java:381-384; isPassComplete 613-623) and re-resolves every N (392-396): pick_first.sticky_failure_report=every_failure; the text and gRFC A61 give only the re-resolution cadence. Case pf-seed-profile-sticky-failure-rereported-after-every-address-failed-again, skipped for it",
    ),
    "PF-17": (
        f"{_GO}: agrees (pickfirst.go:669-682: CONNECTING reported unless the SubConn's effective state is TF)",
    ),
    "PF-19": (
        f"{_GO}: agrees (pickfirst.go:611-628, shutdownRemainingLocked 493-506)",
        f"{_TEXT}: agrees ('unref all of the other subchannels')",
        f"{_JAVA}: agrees (leaf: PickFirstLeafLoadBalancer.java:355-359 shutdownRemaining, then READY at 444)",
    ),
    "PF-20": (
        f"{_GO}: agrees (pickfirst.go:656-666: shut down others, reset, IDLE with idlePicker)",
        f"{_TEXT}: agrees for IDLE; differs as the source notes for CONNECTING/TF",
        f"{_JAVA}: agrees (leaf: PickFirstLeafLoadBalancer.java:330-335: reset, IDLE with RequestConnectionPicker)",
        f"{_JS}: shuts the lost subchannel down too (load-balancer-pick-first.ts:330-342, "
        "351-354), as C-core's GoIdle does and the text's IDLE 'has no subchannels': "
        "pick_first.lost_subchannel",
    ),
    "PF-21": (
        f"{_GO}: agrees (pickfirst.go:355-364)",
        f"{_TEXT}: agrees",
    ),
    "PF-23": (f"{_GO}: agrees (pickfirst.go:344-350)",),
    "PF-25": (
        f"{_GO}: agrees (pickfirst.go:600, 764; isActiveSCData 752-755)",
        f"{_JAVA}: agrees (leaf: PickFirstLeafLoadBalancer.java:295-297)",
    ),
    "PF-26": (
        f"{_GO}: agrees (pickfirst.go:222, 620-645; roundrobin.go:70 enables it for children)",
    ),
    "PF-27": (f"{_GO}: agrees (pickfirst.go:629-645, 757-785 updateSubConnHealthState)",),
    "PF-29": (f"{_GO}: agrees (pickfirst.go:817-819: the picker sets no Done)",),
    "RR-1": (
        f"{_GO}: agrees (endpointsharding.go:137-176: one child per endpoint, given that endpoint)",
        f"{_TEXT}: agrees",
    ),
    "RR-2": (
        f"{_GO}: agrees (endpointsharding.go:145-148: the list is rotated, 145, then a repeated endpoint skipped, 146-148; resolver.EndpointMap): round_robin.repeated_endpoint=first_wins",
        f"{_TEXT}: silent on a repeat within one update ('For each endpoint, the round_robin policy creates a pick_first child policy'); gRFC A61 compares endpoints as unordered address sets across updates only ('Address List Updates in Java/Go')",
        f"{_JAVA}: differs on a repeat, one child given the last copy's addresses (MultiChildLoadBalancer.java:87-99, LinkedHashMap put at 97; the 1.85.1 jar's line table agrees): round_robin.repeated_endpoint=last_wins",
        f"{_CORE}: differs on a repeat, a child per listed copy (endpoint_list.cc EndpointList::Init at 001b372; round_robin.cc at 0a1b619), the copies sharing pooled subchannels: round_robin.repeated_endpoint=every_copy",
        f"{_JS}: differs on a repeat, a child per listed copy (load-balancer-round-robin.ts:248-256), the copies sharing the pooled subchannel: round_robin.repeated_endpoint=every_copy",
    ),
    "RR-3": (f"{_GO}: agrees (endpointsharding.go:180-184)",),
    "RR-8": (
        f"{_GO}: agrees (endpointsharding.go:281-283: the CONNECTING children's queueing pickers)",
        f"{_TEXT}: agrees",
    ),
    "RR-9": (
        f"{_GO}: agrees under round_robin.failure_error=rotating_children (endpointsharding.go:287-289: the failing children's pickers in rotation)",
        f"{_TEXT}: agrees under round_robin.failure_error=most_recent, the default ('the error from the most recent subchannel connection failure')",
        f"{_JAVA}: agrees under round_robin.failure_error=rotating_children (RoundRobinLoadBalancer.java:75, 90-97)",
        f"{_CORE}: agrees under round_robin.failure_error=most_recent (round_robin.cc, MaybeUpdateRoundRobinConnectivityStateLocked: last_failure_)",
        f"{_JS}: agrees under round_robin.failure_error=most_recent (load-balancer-round-robin.ts:124-126, 170-176)",
    ),
    "RR-11": (f"{_GO}: agrees (endpointsharding.go:344-351 endpointState.UpdateState)",),
    "RR-14": (
        f"{_GO}: agrees (endpointState embeds the parent ClientConn: ResolveNow passes through)",
        f"{_TEXT}: agrees ('which round_robin forwards to its parent')",
    ),
    "RR-15": (f"{_GO}: agrees (roundrobin.go has no ParseConfig)",),
    "RR-16": (
        f"{_GO}: agrees (endpointsharding.go:314-317 atomic.AddUint32)",
        f"{_TEXT}: agrees",
    ),
    "AGG-1": (
        f"{_TEXT}: agrees (Aggregated Connectivity States, rule 1)",
        f"{_GO}: agrees (conn_state_evaluator.go CurrentState)",
    ),
    "AGG-2": (
        f"{_TEXT}: agrees (rule 2)",
        f"{_GO}: agrees (conn_state_evaluator.go)",
    ),
    "AGG-3": (
        f"{_TEXT}: agrees (rule 3)",
        f"{_GO}: agrees (conn_state_evaluator.go)",
    ),
    "AGG-4": (
        f"{_TEXT}: agrees (rule 4)",
        f"{_GO}: agrees (conn_state_evaluator.go)",
    ),
    "AGG-5": (f"{_GO}: agrees (conn_state_evaluator.go RecordTransition has no SHUTDOWN counter)",),
    "AGG-6": (f"{_GO}: agrees (conn_state_evaluator.go CurrentState falls through to TF)",),
    "AGG-8": (f"{_TEXT}: agrees (first match wins over the set of states)",),
    "AGG-9": (f"{_GO}: agrees (conn_state_evaluator.go RecordTransition)",),
    "WRR-4": (
        f"{_GO}: agrees in effect (balancer.go:228-231 returns an error for a nil config; not ErrBadResolverState, so grpc-go's channel does not re-resolve on it)",
    ),
    "WRR-5": (
        f"{_GO}: agrees on the utilization and the zero checks (weightedroundrobin/balancer.go:551-560); differs on the result: it stores any weight it computes, 0 included (563-564; case wrr-report-giving-zero-or-infinite-weight-ignored, expectations)",
        f"{_JAVA}: agrees that a weight of 0 is ignored (xds WeightedRoundRobinLoadBalancer.java:389-391, 5fda0c7); +Inf is checked by no implementation read: 'finite' is this project's rule",
    ),
    "WRR-7": (f"{_GO}: agrees (weightedroundrobin/balancer.go:612 orca.RegisterOOBListener)",),
    "WRR-11": (f"{_GO}: agrees (weightedroundrobin/balancer.go:159-200 updateEndpointsLocked)",),
    "WRR-13": (f"{_GO}: agrees (weightedroundrobin/scheduler.go:40-66 and allEqual)",),
    "WRR-14": (f"{_GO}: agrees (weightedroundrobin/scheduler.go:73-74)",),
    "WRR-19": (f"{_GO}: agrees (weightedroundrobin/balancer.go:406-420)",),
    "WRR-20": (
        f"{_GO}: agrees (weightedroundrobin/balancer.go:301, a random idx per picker)",
        f"{_JS}: agrees (load-balancer-weighted-round-robin.ts:195-202, random first deadlines per picker)",
        f"{_JAVA}: differs, one counter per policy (WeightedRoundRobinLoadBalancer.java:163, 244-245, 576): weighted_round_robin.start_index=shared_counter",
        f"{_CORE}: differs, one counter per policy (weighted_round_robin.cc, WeightedRoundRobin::scheduler_state_); its round-robin fallback starts at random per picker (Picker::Picker, last_picked_index_): weighted_round_robin.start_index=shared_counter",
    ),
    "LR-1": (f"{_GO}: agrees (leastrequest.go:63-70: default 2; null is a no-op for a uint32)",),
    "LR-2": (f"{_GO}: agrees (leastrequest.go:72-74)",),
    "LR-3": (f"{_GO}: agrees (leastrequest.go:78-80)",),
    "LR-4": (f"{_GO}: agrees (leastrequest.go:59,68: json into a uint32)",),
    "LR-5": (f"{_GO}: agrees (leastrequest.go:135 ErrBadResolverState)",),
    "LR-7": (
        f"{_GO}: agrees (leastrequest.go:220-232: samples with replacement, strictly lower replaces)",
    ),
    "WRR-6": (
        f"{_GO}: agrees (weightedroundrobin/balancer.go:467-473: the picker's own config decides; Done's ServerLoad)",
    ),
    "WRR-12": (
        f"{_GO}: agrees (weightedroundrobin/balancer.go:251-300 UpdateState: READY endpoints only, pass-through without them (285); 485-510 the scheduler rebuilt on a weightUpdatePeriod ticker)",
    ),
    "LR-6": (
        f"{_GO}: agrees (leastrequest.go:153-167: READY children only; without any the endpointsharding state passes through)",
    ),
    # --- audited by the third helper of issue 14 (see the module docstring) ---
    "RR-10": (
        f"{_GO}: agrees (endpointsharding.go:136-196 UpdateClientConnState, 201-208 ResolverError, 219-227 ExitIdle: children updated with inhibitChildUpdates set, one updateStateLocked after; 344-351 a child's report held back meanwhile)",
        f"{_JAVA}: agrees for a resolver update (MultiChildLoadBalancer.java:113-133 resolvingAddresses, 192 one report, 350-352 children held back); differs on a resolver error, reported unless READY and not passed to the children (141-145): round_robin.resolver_error=report_failure; differs on ExitIdle, a no-op (LoadBalancer.java:444): round_robin.exit_idle=noop",
        f"{_JS}: agrees for a resolver update (load-balancer-round-robin.ts:247-261 updatesPaused, one report); an empty list reports TRANSIENT_FAILURE (238-245) and then IDLE (261: calculateAndUpdateState with no children): a divergence, cases agg-no-children-after-resolver-error-is-failure, rr-empty-update-rejected (expectations/grpc-js.json); differs on a resolver error, ignored with children (225-234): round_robin.resolver_error=ignore; differs on ExitIdle, which does nothing (265-269): round_robin.exit_idle=noop",
        f"{_CORE}: differs on a resolver error with children, ignored (round_robin.cc UpdateLocked): round_robin.resolver_error=ignore; differs on ExitIdle, not overridden (a no-op): round_robin.exit_idle=noop; a resolver update is reported by the new child list, held as latest_pending_endpoint_list_ until every child has reported its initial state (or none is READY in the old list), then by every child report without comparing (MaybeUpdateRoundRobinConnectivityStateLocked, at 0a1b619): round_robin.update_report=every_update",
    ),
    "RR-12": (
        f"{_GO}: agrees (endpointsharding.go:115-129 rotateEndpoints by randIntN(n), 145; endpointsharding_test.go:37 TestRotateEndpoints)",
        f"{_JS}: agrees (load-balancer-round-robin.ts:235-236 rotateArray by a random start index)",
        f"{_JAVA}: differs: children keep the update's order; only the order in which they are updated is rotated, by one offset drawn per process (MultiChildLoadBalancer.java:58, 176-179)",
    ),
    "WRR-3": (
        "gRFC A58: agrees on errorUtilizationPenalty ('Configuration is rejected if this value is negative'); the durations are google.protobuf.Duration, whose JSON form allows negative values: 'non-negative' is this project's rule (spec/types.py), as the source says",
        f"{_GO}: agrees on the JSON types and the penalty (weightedroundrobin/balancer.go:129-135); differs on durations: accepts negative ones and '.5s' (internal/serviceconfig/duration.go:69-73, 80-108), as the source says",
        f"{_JAVA}: differs: a negative penalty is accepted (WeightedRoundRobinLoadBalancerProvider.java:107-109; expectations entry wrr-negative-penalty-rejected); other type errors rejected (65-73)",
        f"{_JS}: differs: reads snake_case fields, so A58's camelCase ones are ignored (load-balancer-weighted-round-robin.ts:130-143; expectations entry wrr-malformed-duration-rejected); a negative penalty is rejected (133-135)",
    ),
    "WRR-16": (
        "gRFC A58: states no bound (EDF Scheduler); the bound is this project's (docs/weighted_round_robin.md), nothing external to check",
        f"{_GO}: the scheduler the bound is derived for (weightedroundrobin/scheduler.go:65-67 weights scaled to 65535, 76 rounded, 103-132 the stride loop); the bound itself not re-derived here",
        f"{_JAVA}: same scheduler (WeightedRoundRobinLoadBalancer.java:639-770 StaticStrideScheduler)",
        f"{_JS}: a different scheduler, EDF over a priority queue (load-balancer-weighted-round-robin.ts:181-211); the bound not checked for it",
    ),
    "WRR-17": (
        "gRFC A58: agrees ('must be cheap to create and allow concurrent pick calls to proceed with no or minimal contention', EDF Scheduler)",
        f"{_GO}: agrees (weightedroundrobin/scheduler.go:34-90 built in O(n), 103-132 lock-free stride loop on an atomic counter)",
        f"{_JAVA}: agrees (WeightedRoundRobinLoadBalancer.java:639-770: AtomicInteger sequence, 722-724; pick 756-770)",
        f"{_JS}: differs: EDF over a priority queue, O(log n) a pick (load-balancer-weighted-round-robin.ts:181-211)",
    ),
    "WRR-18": (
        "this project: the seed's scheduler, allowed here as a MAY; no gRPC implementation uses it",
        f"{_GO}: static stride (weightedroundrobin/scheduler.go:94-132), as the text says",
        f"{_JAVA}: static stride (WeightedRoundRobinLoadBalancer.java:639-770), as the text says",
        f"{_JS}: neither: EDF over a priority queue (load-balancer-weighted-round-robin.ts:181-211); the text's 'gRPC uses the static stride scheduler' is true of grpc-go, grpc-java and C-core",
    ),
    "LR-10": (
        "gRFC A48: agrees (Picker Behavior: choiceCount samples with replacement, a strictly lower count replaces the candidate), from which the law follows; the Freedman bound is this project's (spec/monitors/least_request.py)",
        f"{_GO}: agrees (leastrequest.go:223-231)",
        f"{_JAVA}: agrees (LeastRequestLoadBalancer.java:211-219 nextChildToUse)",
        f"{_JS}: not implemented (no least_request policy in src/)",
    ),
    "LR-11": (
        "gRFC A48: agrees (Rationale, Maximum limit for choice_count: P2C 'nearly is as good as an O(n) full scan'); the full scan is the seed's, allowed here as a MAY",
        f"{_GO}: samples (leastrequest.go:223-231); no full scan",
        f"{_JAVA}: samples (LeastRequestLoadBalancer.java:211-219); no full scan",
    ),
    "CONF-1": (OWN_RULE,),
    "CONF-2": (OWN_RULE,),
    "CONF-3": (OWN_RULE,),
    "CONF-4": (OWN_RULE,),
    "CONF-5": (OWN_RULE,),
    "CONF-6": (OWN_RULE,),
    "CONF-7": (OWN_RULE,),
    "CONF-8": (OWN_RULE,),
    "CONF-9": (OWN_RULE,),
    "CONF-10": (OWN_RULE,),
    "CONF-11": (OWN_RULE,),
}
from spec.catalogue.audit_channel import CHANNEL_AUDIT  # noqa: E402  -- the channel-side areas (issue 14)

AUDIT.update(CHANNEL_AUDIT)
