package io.grpc.internal;

/**
 * The two package-private knobs of grpc-core's pick_first the adapter needs. This class lives in
 * grpc-core's package ({@code io.grpc.internal}; the jar is not sealed) only to reach them.
 */
public final class PickFirstAccess {
  private PickFirstAccess() {}

  /**
   * Chooses which pick_first the provider builds. {@code PickFirstLoadBalancerProvider} reads
   * GRPC_EXPERIMENTAL_ENABLE_NEW_PICK_FIRST once into this non-final static
   * (PickFirstLoadBalancerProvider.java:39 at v1.85.1, default false, so production builds the legacy {@code PickFirstLoadBalancer}); the adapter sets it
   * once at start-up, before any policy is built.
   */
  public static void useLeafPickFirst(boolean leaf) {
    PickFirstLoadBalancerProvider.enableNewPickFirst = leaf;
  }

  /**
   * The provider's parsed config with its package-private {@code randomSeed} set, so that the
   * shuffle of {@code shuffleAddressList} repeats for one case seed. Other configs pass through.
   */
  public static Object withRandomSeed(Object parsed, long seed) {
    if (parsed instanceof PickFirstLeafLoadBalancer.PickFirstLeafLoadBalancerConfig) {
      Boolean shuffle =
          ((PickFirstLeafLoadBalancer.PickFirstLeafLoadBalancerConfig) parsed).shuffleAddressList;
      return new PickFirstLeafLoadBalancer.PickFirstLeafLoadBalancerConfig(shuffle, seed);
    }
    if (parsed instanceof PickFirstLoadBalancer.PickFirstLoadBalancerConfig) {
      Boolean shuffle =
          ((PickFirstLoadBalancer.PickFirstLoadBalancerConfig) parsed).shuffleAddressList;
      return new PickFirstLoadBalancer.PickFirstLoadBalancerConfig(shuffle, seed);
    }
    return parsed;
  }
}
