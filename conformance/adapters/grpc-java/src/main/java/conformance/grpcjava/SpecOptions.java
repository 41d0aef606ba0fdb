package conformance.grpcjava;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where the sources allow several behaviours, which one grpc-java follows (the handshake's
 * spec_options; the keys and values are spec/options.py's). Every option the registry has a
 * grpc-java value for is declared, per pick_first variant where the two differ; the table in
 * README.md beside this file lists the same values with their source lines (v1.85.1).
 */
final class SpecOptions {
  private SpecOptions() {}

  static Map<String, Object> declared(PickFirstVariant variant) {
    boolean leaf = variant == PickFirstVariant.LEAF;
    Map<String, Object> options = new LinkedHashMap<>();
    // Both pick_first policies call Helper.refreshNameResolution themselves, when they report
    // TRANSIENT_FAILURE after a pass and when their connection is lost
    // (PickFirstLeafLoadBalancer.java:304 and :395; PickFirstLoadBalancer.java:115).
    options.put("pick_first.reresolution", "spec_text");
    // A lost connection keeps its subchannel for the next pass: the leaf resets its index and
    // reports IDLE (PickFirstLeafLoadBalancer.java:330-334); the legacy policy keeps its one
    // subchannel and reports IDLE with a RequestConnectionPicker (PickFirstLoadBalancer.java:134).
    options.put("pick_first.lost_subchannel", "kept");
    // The leaf policy runs with GRPC_PF_USE_HAPPY_EYEBALLS=true (PickFirstLeafLoadBalancer.java:64-65,
    // Main sets it); the legacy policy has one subchannel that walks its list in order.
    options.put("pick_first.happy_eyeballs", leaf ? "enabled" : "disabled");
    // Any resolver error shuts every subchannel down and reports TRANSIENT_FAILURE
    // (PickFirstLeafLoadBalancer.java:281-285; PickFirstLoadBalancer.java:99-106).
    options.put("pick_first.resolver_error_with_addresses", "drop_subchannels");
    // An update without the READY address: the leaf goes IDLE (PickFirstLeafLoadBalancer.java
    // acceptResolvedAddresses); the legacy subchannel goes IDLE in updateAddresses
    // (InternalSubchannel.java updateAddresses, gotoNonErrorState(IDLE)) and the policy passes it on.
    options.put("pick_first.selected_address_removed", "goes_idle");
    if (leaf) {
      // IPv4 and everything else (PickFirstLeafLoadBalancer.java:799-800); the legacy policy
      // does not interleave at all.
      options.put("pick_first.family_interleaving", "two_families");
      // An IPv4-mapped IPv6 literal is an Inet4Address in java.net, so it is IPv4
      // (PickFirstLeafLoadBalancer.java:799-800).
      options.put("pick_first.ipv4_mapped_family", "ipv4");
    }
    options.put("pick_first.variant", leaf ? "leaf" : "legacy_single_subchannel");
    // An address is its SocketAddress (PickFirstLeafLoadBalancer.java:69, 196-210); the legacy
    // policy updates its one subchannel's addresses in place (PickFirstLoadBalancer.java:91).
    options.put("pick_first.attribute_change", "same_subchannel");
    // An update still listing the READY address is taken without a report: the leaf seeks to it
    // and returns (PickFirstLeafLoadBalancer.java:143-156); the legacy policy only updates its
    // subchannel's addresses (PickFirstLoadBalancer.java:91).
    options.put("pick_first.ready_on_update", "unchanged");
    // The leaf policy creates a subchannel only when its pass reaches the address
    // (requestConnection, PickFirstLeafLoadBalancer.java:520-524); the legacy policy creates its
    // one subchannel, for the whole list, when the first addresses arrive
    // (PickFirstLoadBalancer.java:73-76).
    options.put("pick_first.subchannel_creation", leaf ? "lazy" : "eager");
    // requestConnection connects an IDLE subchannel without a report; CONNECTING follows the
    // subchannel's CONNECTING (PickFirstLeafLoadBalancer.java:529-530, :338; the legacy
    // PickFirstLoadBalancer passes every subchannel state on, :152).
    options.put("pick_first.connecting_report", "on_subchannel_connecting");
    // After the first pass every TRANSIENT_FAILURE is reported again with its error
    // (PickFirstLeafLoadBalancer.java:381-384; re-resolution only every N, :392-396); the legacy
    // policy passes every subchannel state on (PickFirstLoadBalancer.java:152).
    options.put("pick_first.sticky_failure_report", "every_failure");
    // One sequence counter shared by every ReadyPicker (RoundRobinLoadBalancer.java:46, :97).
    options.put("round_robin.start_index", "shared_counter");
    // An IDLE child counts as connecting (RoundRobinLoadBalancer.java:62-73).
    options.put("round_robin.idle_child", "as_connecting");
    // An unchanged state and an equal picker are not re-reported (RoundRobinLoadBalancer.java:83).
    options.put("round_robin.update_report", "on_change");
    // A resolver error reaches no child; unless READY it is reported as TRANSIENT_FAILURE
    // (MultiChildLoadBalancer.java:141-145).
    options.put("round_robin.resolver_error", "report_failure");
    // requestConnection is LoadBalancer's no-op, not overridden (LoadBalancer.java:444).
    options.put("round_robin.exit_idle", "noop");
    // TRANSIENT_FAILURE is reported with every child's picker in turn
    // (RoundRobinLoadBalancer.java:75, 90-97), each failing with its own error.
    options.put("round_robin.failure_error", "rotating_children");
    // One child per address set, in a LinkedHashMap: a repeat's put replaces the earlier
    // repeat's ResolvedAddresses, so the last repeat's order reaches the child
    // (MultiChildLoadBalancer.java:87-99, createChildAddressesMap; put at :97 in 1.85.1 too).
    options.put("round_robin.repeated_endpoint", "last_wins");
    // A still-listed endpoint's child is reused (MultiChildLoadBalancer.java:157-199).
    options.put("round_robin.children_on_update", "kept");
    // The subchannel retries by itself when its backoff ends: TRANSIENT_FAILURE -> CONNECTING
    // (InternalSubchannel.java:299-306, EndOfCurrentBackoff); never TRANSIENT_FAILURE -> IDLE.
    options.put("subchannel.backoff_end", "connecting");
    // createSubchannel makes a new SubchannelImpl every call (ManagedChannelImpl.java:1367-1371).
    options.put("subchannel.pool", "none");
    // One in-flight counter per child for its whole life (LeastRequestLoadBalancer.java:330).
    options.put("least_request_experimental.count_lifetime", "child_lifetime");
    // No config in an update keeps the current choiceCount (LeastRequestLoadBalancer.java:78).
    options.put("least_request_experimental.missing_config", "keep_current");
    // StaticStrideScheduler clamps each weight to [0.1, 10] x the mean
    // (WeightedRoundRobinLoadBalancer.java:682 and :699).
    options.put("weighted_round_robin.weight_caps", "grpc_java");
    // On READY only nonEmptySince is reset; the last report's weight stays
    // (WeightedRoundRobinLoadBalancer.java:492).
    options.put("weighted_round_robin.weight_on_reconnect", "reset_non_empty_since");
    // One sequence counter, drawn at random once per policy (WeightedRoundRobinLoadBalancer.java
    // :163), is handed to every picker's scheduler (:244-245, :576).
    options.put("weighted_round_robin.start_index", "shared_counter");
    // ServiceConfigUtil.java:298 lower-cases loadBalancingPolicy and an unknown name makes the
    // config invalid (:363). Not exercised here: this adapter builds one named policy.
    options.put("service_config.unknown_policy_name", "lower_cased_invalid");
    // GracefulSwitchLoadBalancer.java:156-158 swaps at once unless the current child is READY;
    // then a pending CONNECTING is held (:138-140) and the current leaving READY swaps
    // (:142-144). Not exercised here: this adapter builds one named policy.
    options.put("service_config.graceful_switch", "grpc_java");
    // ManagedChannelImpl.java:1697-1709: an invalid config while serviceConfigUpdated is unset
    // goes to the policy as a resolution error and is rejected; only a resolution result sets
    // it (:1730), a resolver error does not (:1777-1791). CaseChannel's configApplied plays it.
    options.put("service_config.resolver_error_before_config", "no_config");
    return options;
  }
}
