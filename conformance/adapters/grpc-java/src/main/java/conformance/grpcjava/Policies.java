package conformance.grpcjava;

import io.grpc.LoadBalancer;
import io.grpc.LoadBalancerProvider;
import io.grpc.LoadBalancerRegistry;
import io.grpc.internal.PickFirstAccess;
import io.grpc.xds.XdsAccess;
import java.lang.reflect.Field;
import java.util.List;
import java.util.Random;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Builds each policy from grpc-java's default registry, seeding every random source it has.
 *
 * <p>The provider always comes from {@code LoadBalancerRegistry.getDefaultRegistry()} and every
 * config goes through the provider's own {@code parseLoadBalancingPolicyConfig}. The balancer
 * itself comes from {@code provider.newLoadBalancer} except for the two grpc-xds policies, whose
 * providers pass the system ticker and an unseeded random (see {@link XdsAccess}).
 */
final class Policies {
  static final List<String> NAMES =
      List.of("least_request_experimental", "pick_first", "round_robin", "weighted_round_robin");

  private Policies() {}

  static LoadBalancerProvider provider(String policy) {
    return NAMES.contains(policy)
        ? LoadBalancerRegistry.getDefaultRegistry().getProvider(policy)
        : null;
  }

  /** A new balancer for {@code policy}; call on the synchronization context. */
  static LoadBalancer build(
      String policy, LoadBalancerProvider provider, LoadBalancer.Helper helper, VirtualClock clock,
      long seed) {
    Random random = new Random(seed);
    switch (policy) {
      case "weighted_round_robin":
        // WeightedRoundRobinLoadBalancerProvider.newLoadBalancer passes the system ticker.
        return XdsAccess.newWeightedRoundRobin(helper, clock.ticker, random);
      case "least_request_experimental":
        return XdsAccess.newLeastRequest(helper, random);
      case "round_robin":
        LoadBalancer balancer = provider.newLoadBalancer(helper);
        seedRoundRobin(balancer, random.nextInt());
        return balancer;
      default:
        return provider.newLoadBalancer(helper);
    }
  }

  /** pick_first's shuffle seed lives in its parsed config. */
  static Object seedConfig(String policy, Object parsed, long seed) {
    return policy.equals("pick_first") ? PickFirstAccess.withRandomSeed(parsed, seed) : parsed;
  }

  /**
   * RoundRobinLoadBalancer starts its picker rotation at {@code new Random().nextInt()} kept in a
   * private {@code AtomicInteger sequence}; set it from the case seed. grpc-services' {@code
   * HealthCheckingRoundRobinLoadBalancerProvider} wraps it, so unwrap the {@code delegate} first.
   */
  private static void seedRoundRobin(LoadBalancer balancer, int start) {
    try {
      Object inner = balancer;
      while (!inner.getClass().getName().equals("io.grpc.util.RoundRobinLoadBalancer")) {
        inner = field(inner.getClass(), "delegate").get(inner);
      }
      ((AtomicInteger) field(inner.getClass(), "sequence").get(inner)).set(start);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot seed round_robin: " + e, e);
    }
  }

  private static Field field(Class<?> type, String name) throws NoSuchFieldException {
    for (Class<?> c = type; c != null; c = c.getSuperclass()) {
      try {
        Field f = c.getDeclaredField(name);
        f.setAccessible(true);
        return f;
      } catch (NoSuchFieldException e) {
        // look in the superclass
      }
    }
    throw new NoSuchFieldException(type.getName() + "." + name);
  }

  /**
   * {@code MultiChildLoadBalancer.OFFSET_SEED} is a {@code static final int} set from {@code new
   * Random().nextInt()} (MultiChildLoadBalancer.java:58, v1.85.1): it rotates the order in which round_robin, weighted_round_robin and
   * least_request hand updates to their children (and so which subchannel is created first). It
   * cannot be seeded; the adapter pins it to 0 once at start-up, before any policy runs (children
   * updated in resolver order: one of the orders production can take). A static final field can
   * only be written through sun.misc.Unsafe.
   */
  @SuppressWarnings({"deprecation", "removal"})
  static void pinChildOrderOffset() {
    try {
      Field offset = Class.forName("io.grpc.util.MultiChildLoadBalancer").getDeclaredField(
          "OFFSET_SEED");
      Field theUnsafe = Class.forName("sun.misc.Unsafe").getDeclaredField("theUnsafe");
      theUnsafe.setAccessible(true);
      sun.misc.Unsafe unsafe = (sun.misc.Unsafe) theUnsafe.get(null);
      unsafe.putInt(unsafe.staticFieldBase(offset), unsafe.staticFieldOffset(offset), 0);
    } catch (ReflectiveOperationException e) {
      throw new IllegalStateException("cannot pin MultiChildLoadBalancer.OFFSET_SEED: " + e, e);
    }
  }
}
