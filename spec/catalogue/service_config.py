"""Requirements for the policy registry, service-config selection, graceful switch and base.

Areas: REG (registry), SC (choosing the policy from a service config, and what the
channel does with an invalid one), GS (switching policies gracefully), BASE (the
base balancer that simple policies are built on).
"""

from __future__ import annotations

from spec.catalogue.model import Level, Requirement

_SPEC = "grpc/grpc doc/client_channel_specification.md"
_REGISTRY = _SPEC + "#lb-policy-registry"
_RESULT = _SPEC + "#channel-handling-of-resolver-result"
_SWITCH = _SPEC + "#gracefully-switching-lb-policies"
_GO_REGISTRY = "grpc-go balancer/balancer.go (Register, Get)"
_GO_SC = "grpc-go service_config.go (parseServiceConfig)"
_GO_LBC = (
    "grpc-go internal/balancer/gracefulswitch/config.go (ParseConfig); "
    "internal/serviceconfig/serviceconfig.go (BalancerConfig.UnmarshalJSON)"
)
_A24 = "gRFC A24 (LoadBalancingConfig)"
_GO_CC = "grpc-go clientconn.go (updateResolverStateAndUnlock)"
_GO_GS = "grpc-go internal/balancer/gracefulswitch/gracefulswitch.go"
_GO_BASE = "grpc-go balancer/base/balancer.go (baseBalancer)"

M = Level.MUST

REQUIREMENTS: tuple[Requirement, ...] = (
    # --- REG: the registry ---
    Requirement(
        "REG-1",
        M,
        "Policies are registered under their builder's name and looked up by that exact, "
        "case-sensitive name.",
        _GO_REGISTRY + "; case-sensitive since GRPC_GO_EXPERIMENTAL_CASE_SENSITIVE_BALANCER_"
        "REGISTRIES defaults to true (internal/envconfig/envconfig.go)",
    ),
    Requirement(
        "REG-2",
        M,
        "Registering a builder under a name already taken replaces the earlier builder.",
        _GO_REGISTRY + " (the last registration wins); the spec allows one policy per name "
        "and C-core refuses a duplicate (" + _REGISTRY + "; src/core/load_balancing/"
        "lb_policy_registry.cc), so portable code registers each name once",
    ),
    Requirement(
        "REG-3",
        M,
        "Looking up a name nobody registered finds nothing, and the caller decides what that "
        "means.",
        _GO_REGISTRY + " (Get returns nil)",
    ),
    Requirement(
        "REG-4",
        M,
        "A builder without a non-empty string name cannot be registered.",
        "this project's rule for its own registry API (refimpl/registry.py), not a behaviour "
        "adapters are judged on: the text is silent ('LB policies are registered by name'), "
        "grpc-go, grpc-java and grpc-js accept any name (balancer/balancer.go:58-66; "
        "LoadBalancerRegistry.java:68-70, 89; load-balancer.ts:166-175), and the adapter "
        "protocol registers no builders, so no case can observe it (tests/refimpl/"
        "test_registry.py checks the reference)",
    ),
    # --- SC: selecting the policy ---
    Requirement(
        "SC-1",
        M,
        "The entries of loadBalancingConfig are read in order and the first whose policy name "
        "is registered is selected; entries naming unregistered policies are skipped.",
        _A24 + "; " + _GO_LBC,
    ),
    Requirement(
        "SC-2",
        M,
        "Entries after the selected one are not examined, so they may name unknown policies "
        "or be malformed.",
        _GO_LBC + " (the loop returns at the first registered name); C-core "
        "lb_policy_registry.cc likewise; grpc-go alone still rejects a non-object entry "
        "anywhere, because it decodes the whole list first",
    ),
    Requirement(
        "SC-3",
        M,
        "An examined loadBalancingConfig entry that is not an object with exactly one key makes "
        "the service config invalid, and the error names the entry's index.",
        _GO_LBC + " ('expected a JSON struct with one entry')",
    ),
    Requirement(
        "SC-4",
        M,
        "If the selected policy's config parser rejects its config, the whole service config is "
        "invalid; later entries are not tried.",
        _GO_LBC + " ('error parsing config for policy')",
    ),
    Requirement(
        "SC-5",
        M,
        "A loadBalancingConfig that names no registered policy, including an empty list, makes "
        "the service config invalid.",
        _A24
        + " ('If none are supported, the service config is considered invalid'); "
        + _GO_LBC
        + "; grpc-go service_config_test.go TestParseNoLBConfigSupported",
    ),
    Requirement(
        "SC-6",
        M,
        "The deprecated loadBalancingPolicy counts only when loadBalancingConfig is absent, and "
        "a name nobody registered falls back to pick_first.",
        _RESULT + " (how the channel chooses the LB policy); " + _GO_SC,
    ),
    Requirement(
        "SC-7",
        M,
        "A service config with neither loadBalancingConfig nor loadBalancingPolicy selects "
        "pick_first.",
        _RESULT + "; " + _GO_SC,
    ),
    Requirement(
        "SC-8",
        M,
        "healthCheckConfig.serviceName, a string, names the service to health-check, and "
        "without a serviceName health checking is off.",
        "gRFC A17 (HealthCheckConfig.service_name: 'If unset, health checking is disabled'); "
        "grpc-go checks whenever healthCheckConfig is present (clientconn.go, "
        "addrConn.startHealthCheck), even with no serviceName",
    ),
    Requirement(
        "SC-9",
        M,
        "Every invalid service config is reported as a typed error that names the JSON path at "
        "fault, or the line and column when the text is not JSON.",
        "this project's error rule; grpc-go service_config.go reports the failure as "
        "ParseResult.Err",
    ),
    Requirement(
        "SC-10",
        M,
        "If no service config is in force and the resolver's config is invalid, the channel "
        "reports TRANSIENT_FAILURE with a picker failing RPCs with UNAVAILABLE 'error parsing "
        "service config: ...' and rejects the update.",
        _SPEC + "#resolver-results; " + _RESULT + "; " + _GO_CC + " and applyFailingLBLocked; "
        "grpc-go test/resolver_update_test.go TestResolverUpdate_InvalidServiceConfigAsFirstUpdate",
    ),
    Requirement(
        "SC-11",
        M,
        "If a service config is in force and the resolver's config is invalid, the channel keeps "
        "the config in force, gives the policy the new endpoints with it, and rejects the update.",
        _RESULT + "; " + _GO_CC + "; grpc-go test/resolver_update_test.go "
        "TestResolverUpdate_InvalidServiceConfigAfterGoodUpdate",
    ),
    Requirement(
        "SC-12",
        M,
        "A resolver result without a service config keeps the config in force (grpc-go) or "
        "applies the channel's default config (the spec's pseudo-code), and the default config "
        "applies when none is in force.",
        _GO_CC + " (maybeApplyDefaultServiceConfig); " + _RESULT,
    ),
    Requirement(
        "SC-13",
        M,
        "A service config that is not an object, a loadBalancingConfig that is not a list, a "
        "loadBalancingPolicy that is not a string or a healthCheckConfig that is not an object "
        "makes the service config invalid.",
        _GO_SC + " (decoding into typed fields); grpc-go service_config_test.go "
        "TestParseLoadBalancer",
    ),
    Requirement(
        "SC-14",
        M,
        "Under service_config.resolver_error_before_config=default_config, a resolver error "
        "puts the default service config in force when none is, so a later invalid config is "
        "ignored rather than failing the channel; under no_config (the default: the spec "
        "text, grpc-java, C-core, grpc-js) it puts none in force.",
        _GO_CC + " (maybeApplyDefaultServiceConfig before resolverError); option "
        "service_config.resolver_error_before_config",
    ),
    # --- GS: graceful switch ---
    Requirement(
        "GS-1",
        M,
        "An update naming the policy of the latest child goes to that child in place, with the "
        "child's own config.",
        _SWITCH + "; " + _GO_GS + " (UpdateClientConnState)",
    ),
    Requirement(
        "GS-2",
        M,
        "An update naming another policy builds a new child of that policy, and only the new "
        "child receives the update.",
        _SWITCH + "; " + _GO_GS + " (UpdateClientConnState, switchTo)",
    ),
    Requirement(
        "GS-3",
        M,
        "The first child becomes current at once, a later one waits as pending, and a newer "
        "pending child closes and replaces an older one.",
        _GO_GS + " (switchTo)",
    ),
    Requirement(
        "GS-4",
        M,
        "Resolver updates, resolver errors and ExitIdle go to the latest child, and a resolver "
        "error with no child reports TRANSIENT_FAILURE with a picker failing with that error.",
        _GO_GS + " (latestBalancer, ResolverError, ExitIdle)",
    ),
    Requirement(
        "GS-5",
        M,
        "The current child's reports reach the channel, except that a report other than READY "
        "while a pending child exists swaps the pending child in instead (under "
        "service_config.graceful_switch=hold_connecting, C-core's and grpc-js's value, the "
        "current child's reports always reach the channel and never swap).",
        _SWITCH
        + " ('or the old policy reports a state other than READY'); "
        + _GO_GS
        + " (balancerWrapper.UpdateState); grpc-go gracefulswitch_test.go "
        "TestCurrentLeavingReady; grpc-java GracefulSwitchLoadBalancer.java agrees; C-core "
        "child_policy_handler.cc and grpc-js load-balancer-child-handler.ts do not: spec "
        "option service_config.graceful_switch",
    ),
    Requirement(
        "GS-6",
        M,
        "A pending child's reports are held back as service_config.graceful_switch says and any "
        "other report swaps it in: under spec_text (the default) a switch while the channel is "
        "not READY swaps at once, and otherwise its CONNECTING and IDLE are held; under grpc_go "
        "its CONNECTING is held while the current child is READY; under grpc_java a switch "
        "while the current child is not READY swaps at once, and otherwise its CONNECTING is "
        "held; under hold_connecting its CONNECTING is always held.",
        _SWITCH + " ('If the channel is currently in a state other than READY, the new policy "
        "will be swapped into place immediately ... until either the new policy reports READY "
        "or TRANSIENT_FAILURE'); " + _GO_GS + " (balancerWrapper.UpdateState); "
        "gracefulswitch_test.go TestCurrentNotReadyPendingUpdate, TestTwoBalancersSameType; "
        "the implementations differ from the text and each other: spec option "
        "service_config.graceful_switch (spec/options.py, each one's source line)",
    ),
    Requirement(
        "GS-7",
        M,
        "A swap reports the pending child's last state and picker (CONNECTING with a queueing "
        "picker if it never reported), then closes the old child and shuts down every SubConn it "
        "created.",
        _GO_GS + " (swap, balancerWrapper.Close)",
    ),
    Requirement(
        "GS-8",
        M,
        "A child that is neither current nor pending has no effect: its reports and its SubConns' "
        "state changes are dropped and it cannot create SubConns.",
        _GO_GS + " (balancerCurrentOrPending, updateSubConnState, NewSubConn)",
    ),
    Requirement(
        "GS-9",
        M,
        "Only the latest child's requests to re-resolve reach the channel.",
        _GO_GS + " (balancerWrapper.ResolveNow)",
    ),
    Requirement(
        "GS-10",
        M,
        "Closing the graceful switch balancer closes the current and the pending child and shuts "
        "down their SubConns.",
        _GO_GS + " (Close)",
    ),
    # --- BASE: the base balancer ---
    Requirement(
        "BASE-1",
        M,
        "The base balancer creates one SubConn per distinct address and asks it to connect at "
        "once.",
        _GO_BASE + " (UpdateClientConnState)",
    ),
    Requirement(
        "BASE-2",
        M,
        "A SubConn whose address is no longer listed is shut down and stops counting for the "
        "aggregate state.",
        _GO_BASE + " (UpdateClientConnState; updateSubConnState on SHUTDOWN)",
    ),
    Requirement(
        "BASE-3",
        M,
        "An update with no addresses is rejected and recorded as the resolver error 'produced "
        "zero addresses', and with no SubConns left the policy reports TRANSIENT_FAILURE.",
        _GO_BASE + " (UpdateClientConnState, ResolverError)",
    ),
    Requirement(
        "BASE-4",
        M,
        "Once a SubConn is in TRANSIENT_FAILURE, its CONNECTING and IDLE reports do not count for "
        "aggregation until it reports READY or TRANSIENT_FAILURE again.",
        _GO_BASE + " (updateSubConnState: 'ignore subsequent IDLE or CONNECTING transitions')",
    ),
    Requirement(
        "BASE-5",
        M,
        "A SubConn reporting IDLE is asked to connect again, also when that report does not count "
        "for aggregation.",
        _GO_BASE + " (updateSubConnState)",
    ),
    Requirement(
        "BASE-6",
        M,
        "The picker is rebuilt from the READY SubConns on every resolver update and whenever a "
        "SubConn enters or leaves READY.",
        _GO_BASE + " (regeneratePicker and its callers)",
    ),
    Requirement(
        "BASE-7",
        M,
        "In TRANSIENT_FAILURE the picker fails RPCs with 'last connection error: X; last resolver "
        "error: Y', omitting an absent part, and is rebuilt on every change so the errors stay "
        "current.",
        _GO_BASE + " (mergeErrors, regeneratePicker)",
    ),
    Requirement(
        "BASE-8",
        M,
        "The reported state is the normal aggregate of the counted SubConn states, reported with "
        "the picker after every update and every counted SubConn change, and a resolver error is "
        "reported only in TRANSIENT_FAILURE.",
        _GO_BASE + " (updateSubConnState, ResolverError); grpc-go balancer/conn_state_evaluator.go",
    ),
    Requirement(
        "BASE-9",
        M,
        "The picker builder sees each READY SubConn with the address it was created for, "
        "attributes included.",
        "grpc-go balancer/base/base.go (PickerBuildInfo, SubConnInfo); balancer/base/"
        "balancer_test.go TestBaseBalancerReserveAttributes",
    ),
    Requirement(
        "BASE-10",
        M,
        "With health checking enabled, a READY SubConn counts as its health state, and as "
        "CONNECTING until the first health report.",
        "grpc-go balancer/base/base.go (Config.HealthCheck -> NewSubConnOptions."
        "HealthCheckEnabled); gRFC A17",
    ),
)
