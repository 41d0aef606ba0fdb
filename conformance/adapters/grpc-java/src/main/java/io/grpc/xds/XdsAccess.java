package io.grpc.xds;

import io.grpc.Deadline;
import io.grpc.LoadBalancer;
import java.util.Random;

/**
 * Builds grpc-xds's weighted_round_robin and least_request_experimental through their
 * package-private constructors (this class lives in {@code io.grpc.xds} only to reach them): the
 * providers' {@code newLoadBalancer} passes the system ticker and an unseeded random source, and
 * these constructors are the ones grpc-xds's own tests use to inject both.
 */
public final class XdsAccess {
  private XdsAccess() {}

  /** weighted_round_robin on the adapter's virtual ticker, its start index from {@code random}. */
  public static LoadBalancer newWeightedRoundRobin(
      LoadBalancer.Helper helper, Deadline.Ticker ticker, Random random) {
    return new WeightedRoundRobinLoadBalancer(helper, ticker, random);
  }

  /** least_request_experimental whose random samples come from {@code random}. */
  public static LoadBalancer newLeastRequest(LoadBalancer.Helper helper, Random random) {
    return new LeastRequestLoadBalancer(helper, new SeededRandom(random));
  }

  /** grpc-xds's random-source interface over one seeded {@link Random}. */
  private static final class SeededRandom implements ThreadSafeRandom {
    private final Random random;

    SeededRandom(Random random) {
      this.random = random;
    }

    @Override
    public synchronized int nextInt(int bound) {
      return random.nextInt(bound);
    }

    @Override
    public synchronized long nextLong() {
      return random.nextLong();
    }

    @Override
    public synchronized long nextLong(long bound) {
      return random.nextLong(bound);
    }
  }
}
