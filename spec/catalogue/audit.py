"""The catalogue audit (issue 14): for each requirement, does each cited source say it?

Each entry lists, per implementation whose source was read for the requirement, what
that source does: "agrees", or "differs" (a legitimate choice: the spec option that
covers it, spec/options.py), or "diverges" (a divergence with a case and an
expectations entry).  Sources read: grpc-go v1.85.0 (module cache), grpc-java master
at 5fda0c7, @grpc/grpc-js 1.14.7 src/, C-core from grpc/grpc as indexed.

Audited so far (session of issue 14): the requirements below.  Every other requirement
is "not audited yet" in docs/requirements.md -- in particular most of PF (PF-1, PF-3..6,
PF-8..11, PF-14..17, PF-19..21, PF-23, PF-25..27, PF-29), RR-1..3, RR-8..12, RR-14..16,
AGG-1..6, AGG-8..9, WRR-3..7, WRR-11..14, WRR-16..19, LR-1..7, LR-10..11, and all of
CONN, CHAN, MODEL, LB, REG, SC (but SC-6), GS, BASE, RPC, HC, HEALTH, CONF.
"""

from __future__ import annotations

_GO = "grpc-go v1.85.0"
_JAVA = "grpc-java 5fda0c7"
_JS = "grpc-js 1.14.7"
_CORE = "C-core"

AUDIT: dict[str, tuple[str, ...]] = {
    "PF-2": (f"{_CORE}: agrees (pick_first.cc UpdateLocked: 'address list must not be empty')",),
    "PF-7": (
        f"{_GO}: agrees with three_families (pickfirst.go:413-462)",
        f"{_JAVA}: differs, two_families (PickFirstLeafLoadBalancer.java:795-820)",
        f"{_JS}: differs, two_families (load-balancer-pick-first.ts:139-165)",
        f"{_CORE}: three families or more, one per URI scheme (pick_first.cc GetAddressFamily)",
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
    ),
    "PF-24": (
        f"{_GO}: agrees once PF-18's exception is stated (pickfirst.go:792-800, 323-328); "
        "the old text contradicted it",
    ),
    "PF-28": (
        f"{_GO}: differs, the subchannel re-resolves (pickfirst.go:716-719): "
        "pick_first.reresolution",
        f"{_JS}: agrees (load-balancer-pick-first.ts:309-317)",
    ),
    "RR-4": (f"{_CORE}: agrees (round_robin.cc UpdateLocked: 'empty address list', rejected)",),
    "RR-5": (
        f"{_JAVA}: agrees (RoundRobinLoadBalancer.java:62-73)",
        f"{_CORE}: agrees (round_robin.cc UpdateStateCountersLocked)",
        f"{_GO}: differs, IDLE above TF (endpointsharding.go:275-290): round_robin.idle_child",
        f"{_JS}: differs, IDLE below TF (load-balancer-round-robin.ts:142-182)",
    ),
    "RR-6": (
        f"{_CORE}: agrees (round_robin.cc OnStateUpdate: ExitIdleLocked)",
        f"{_JS}: agrees (load-balancer-round-robin.ts:187-191)",
    ),
    "RR-7": (
        f"{_GO}: agrees, random start (endpointsharding.go:300)",
        f"{_CORE}: agrees, random start (round_robin.cc Picker::Picker)",
        f"{_JAVA}: shared counter across pickers (RoundRobinLoadBalancer.java:46,154): "
        "round_robin.start_index; the cyclic-order part agrees",
        f"{_JS}: continues from the previous picker (load-balancer-round-robin.ts:146-154)",
    ),
    "RR-13": (f"{_CORE}: agrees (round_robin.cc UpdateLocked keeps the existing list)",),
    "AGG-7": (
        f"{_JAVA}: agrees (RoundRobinLoadBalancer.java:62-73)",
        f"{_CORE}: agrees (round_robin.cc UpdateStateCountersLocked)",
        f"{_GO}: differs (endpointsharding.go:275-290): round_robin.idle_child",
        f"{_JS}: differs (load-balancer-round-robin.ts:142-182)",
    ),
    "WRR-1": (
        f"{_GO}: diverges on null durations (internal/serviceconfig/duration.go:61-68; case "
        "wrr-null-duration-takes-default)",
    ),
    "WRR-2": (f"{_JS}: agrees (load-balancer-weighted-round-robin.ts:113)",),
    "WRR-8": (
        f"{_GO}: agrees (weightedroundrobin/balancer.go:649)",
        f"{_JS}: agrees (load-balancer-weighted-round-robin.ts:292)",
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
}
