package conformance.grpcjava;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Where the sources allow several behaviours, which one grpc-java follows (the handshake's
 * spec_options). Only keys the suite's monitors accept today are declared; the others grpc-java
 * has are listed, with their source lines, in README.md beside this file.
 */
final class SpecOptions {
  private SpecOptions() {}

  static Map<String, Object> declared(PickFirstVariant variant) {
    Map<String, Object> options = new LinkedHashMap<>();
    // Both pick_first policies call Helper.refreshNameResolution themselves, when they report
    // TRANSIENT_FAILURE after a pass and when their connection is lost
    // (PickFirstLeafLoadBalancer.java:304 and :395; PickFirstLoadBalancer.java:115, v1.85.1).
    options.put("pick_first.reresolution", "spec_text");
    // StaticStrideScheduler clamps each weight to [0.1, 10] x the mean
    // (WeightedRoundRobinLoadBalancer.java:682 and :699, v1.85.1).
    options.put("weighted_round_robin.weight_caps", "grpc_java");
    return options;
  }
}
