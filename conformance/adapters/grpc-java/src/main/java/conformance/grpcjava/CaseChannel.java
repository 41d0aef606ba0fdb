package conformance.grpcjava;

import io.grpc.Attributes;
import io.grpc.ChannelLogger;
import io.grpc.ConnectivityState;
import io.grpc.ConnectivityStateInfo;
import io.grpc.EquivalentAddressGroup;
import io.grpc.LoadBalancer;
import io.grpc.LoadBalancerProvider;
import io.grpc.ManagedChannel;
import io.grpc.NameResolver;
import io.grpc.Status;
import io.grpc.SynchronizationContext;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * One case's channel: the {@link LoadBalancer.Helper} the policy talks to, its subchannels, the
 * synchronization context and the virtual clock, and the log of outputs.
 *
 * <p>Every input runs through {@link SynchronizationContext#execute}, which drains all work it
 * queued before it returns, and then the clock runs the zero-delay tasks that work submitted; so
 * when {@link #step} returns, the policy is quiet and every output is in the log. No other thread
 * exists.
 */
final class CaseChannel {
  static final String AUTHORITY = "conformance.invalid";

  static final ChannelLogger SILENT_LOGGER =
      new ChannelLogger() {
        @Override
        public void log(ChannelLogLevel level, String message) {}

        @Override
        public void log(ChannelLogLevel level, String messageFormat, Object... args) {}
      };

  /**
   * ManagedChannelImpl.SUBCHANNEL_SHUTDOWN_DELAY_SECONDS: a subchannel the policy shuts down
   * reaches SHUTDOWN (and tells the policy's listener) 5 s later, unless the channel is closing.
   */
  private static final long SUBCHANNEL_SHUTDOWN_DELAY_SECONDS = 5;

  private final List<Map<String, Object>> outputs = new ArrayList<>();
  private final List<Throwable> failures = new ArrayList<>();
  final SynchronizationContext sync =
      new SynchronizationContext((thread, error) -> failures.add(error));
  final VirtualClock clock = new VirtualClock();
  final Addresses addresses = new Addresses();
  private final Map<String, FakeSubchannel> subchannels = new LinkedHashMap<>();
  private final String policy;
  private final LoadBalancerProvider provider;
  /**
   * A fresh shuffle seed for each parsed pick_first config, drawn from the case seed: grpc-java
   * shuffles every update with a new {@code Random()} (PickFirstLeafLoadBalancer.java, config
   * randomSeed null in production), so one fixed seed would repeat one order on every update.
   */
  private final Random shuffleSeeds;
  private final boolean healthChecking;
  private final boolean seedProfile;
  private final Picks picks;
  private final LoadBalancer balancer;
  private LoadBalancer.SubchannelPicker picker;
  private boolean closed;
  private int nextHandle = 1;
  /** The last config that parsed (ManagedChannelImpl's lastServiceConfig). */
  private Object configInForce;
  /** ManagedChannelImpl's serviceConfigUpdated: a config (good or none) was applied once. */
  private boolean configApplied;

  CaseChannel(
      String policy, LoadBalancerProvider provider, long seed, boolean healthChecking,
      boolean seedProfile) {
    this.policy = policy;
    this.provider = provider;
    this.shuffleSeeds = new Random(seed);
    this.healthChecking = healthChecking;
    this.seedProfile = seedProfile;
    this.picks = new Picks(this);
    LoadBalancer[] built = new LoadBalancer[1];
    sync.execute(() -> built[0] = Policies.build(policy, provider, new Helper(), clock, seed));
    rethrowFailures();
    this.balancer = built[0];
  }

  // --- outputs ---

  void emit(Map<String, Object> output) {
    outputs.add(output);
  }

  private List<Map<String, Object>> takeOutputs() {
    List<Map<String, Object>> out = new ArrayList<>(outputs);
    outputs.clear();
    return out;
  }

  LoadBalancer.SubchannelPicker picker() {
    return picker;
  }

  private void rethrowFailures() {
    if (!failures.isEmpty()) {
      Throwable first = failures.get(0);
      failures.clear();
      throw new IllegalStateException("grpc-java threw " + first, first);
    }
  }

  // --- steps ---

  /** Delivers one input and returns every output it caused, once the policy is quiet. */
  List<Map<String, Object>> step(Map<String, ?> input) throws BadInput {
    String type = Json.string(input.get("type"), "input.type");
    if (closed) {
      throw new BadInput("input " + type + " after close");
    }
    switch (type) {
      case "resolver_update":
        resolverUpdate(input);
        break;
      case "resolver_error":
        String message = Json.string(input.get("message"), "input.message");
        // A name resolver reports UNAVAILABLE (DnsNameResolver); the channel hands it to the
        // policy (ManagedChannelImpl.handleErrorInSyncContext).
        sync.execute(() -> balancer.handleNameResolutionError(
            Status.UNAVAILABLE.withDescription(message)));
        break;
      case "subchannel_state":
        subchannelState(input);
        break;
      case "health_state":
        healthState(input);
        break;
      case "exit_idle":
        sync.execute(balancer::requestConnection);
        break;
      case "close":
        closed = true;
        sync.execute(this::close);
        break;
      case "pick":
        picks.pick(input);
        break;
      case "done":
        picks.done(input);
        break;
      case "advance_time":
        clock.advance(Durations.nanos(Json.string(input.get("by"), "input.by")));
        break;
      case "oob_load_report":
        oobLoadReport(input);
        break;
      default:
        throw new BadInput("input.type: unknown input " + type);
    }
    clock.runDue();
    rethrowFailures();
    return takeOutputs();
  }

  private void resolverUpdate(Map<String, ?> input) throws BadInput {
    List<EquivalentAddressGroup> groups = addresses.endpoints(input.get("endpoints"));
    Object config = null;
    Status rejection = null;
    Object rawConfig = input.get("config");
    if (rawConfig != null) {
      NameResolver.ConfigOrError parsed =
          provider.parseLoadBalancingPolicyConfig(Json.object(rawConfig, "input.config"));
      if (parsed.getError() == null) {
        config = configInForce =
            Policies.seedConfig(policy, parsed.getConfig(), shuffleSeeds.nextLong());
      } else {
        rejection = parsed.getError();
        if (!configApplied) {
          // ManagedChannelImpl.NameResolverListener.onResult2: an invalid first service config
          // without a default one goes to the policy as a resolution error, and the policy is
          // not given the addresses. The error is the provider's own (ServiceConfigUtil.java:357).
          Status error = rejection;
          sync.execute(() -> balancer.handleNameResolutionError(error));
          emit(rejected(error));
          return;
        }
        config = configInForce; // ... otherwise the last good config stays in force
      }
    }
    configApplied = true;
    Attributes.Builder attributes = Attributes.newBuilder();
    if (healthChecking) {
      // The service config's healthCheckConfig, as ManagedChannelImpl passes it to the policy.
      attributes.set(LoadBalancer.ATTR_HEALTH_CHECKING_CONFIG, Map.of("serviceName", ""));
    }
    LoadBalancer.ResolvedAddresses resolved =
        LoadBalancer.ResolvedAddresses.newBuilder()
            .setAddresses(groups)
            .setAttributes(attributes.build())
            .setLoadBalancingPolicyConfig(config)
            .build();
    Status[] accepted = new Status[1];
    sync.execute(() -> accepted[0] = balancer.acceptResolvedAddresses(resolved));
    if (rejection == null && accepted[0] != null && !accepted[0].isOk()) {
      rejection = accepted[0];
    }
    if (rejection != null) {
      emit(rejected(rejection));
    }
  }

  private static Map<String, Object> rejected(Status status) {
    return Json.obj("type", "update_rejected", "reason", Statuses.describe(status));
  }

  private void close() {
    balancer.shutdown();
    // The channel is terminating: subchannels shut down at once, without the 5 s delay
    // (ManagedChannelImpl.SubchannelImpl.shutdown), and nothing the policy says now is used.
  }

  void deliverShutdown(FakeSubchannel subchannel) {
    if (closed) {
      sync.executeLater(subchannel::notifyShutdown);
    } else {
      sync.schedule(
          subchannel::notifyShutdown, SUBCHANNEL_SHUTDOWN_DELAY_SECONDS, TimeUnit.SECONDS, clock);
    }
  }

  /**
   * Subchannel.updateAddresses: reported as update_addresses when the address list changes. The
   * leaf pick_first also calls it with the same address to refresh its attributes
   * (PickFirstLeafLoadBalancer.acceptResolvedAddresses); that changes nothing a case can name.
   */
  void addressesUpdated(FakeSubchannel subchannel, List<EquivalentAddressGroup> old) {
    if (addresses.names(old).equals(addresses.names(subchannel.addresses()))) {
      return;
    }
    emit(Json.obj(
        "type", "update_addresses",
        "subchannel", subchannel.handle,
        "addresses", addresses.names(subchannel.addresses())));
  }

  FakeSubchannel live(Map<String, ?> input, String what) throws BadInput {
    Object handle = input.get("subchannel");
    FakeSubchannel subchannel = handle instanceof String ? subchannels.get(handle) : null;
    if (subchannel == null) {
      throw new BadInput(what + ": no subchannel " + handle + " was created");
    }
    if (subchannel.shutdown) {
      throw new BadInput(what + ": subchannel " + handle + " is shut down (CONN-8)");
    }
    return subchannel;
  }

  private void subchannelState(Map<String, ?> input) throws BadInput {
    FakeSubchannel subchannel = live(input, "subchannel_state");
    ConnectivityState to = Statuses.state(input.get("state"), "input.state");
    ConnectivityState from = subchannel.state;
    String refusal = Transitions.refusal(from, to, seedProfile);
    if (refusal != null) {
      throw new BadInput("subchannel_state: subchannel " + subchannel.handle + " cannot go "
          + from + " -> " + to + ": " + refusal);
    }
    if (from == ConnectivityState.IDLE && !subchannel.connectRequested) {
      throw new BadInput("subchannel_state: subchannel " + subchannel.handle + " left IDLE but"
          + " the policy never called requestConnection() there (CONN-2)");
    }
    ConnectivityStateInfo info;
    if (to == ConnectivityState.TRANSIENT_FAILURE) {
      Object error = input.get("error");
      info = ConnectivityStateInfo.forTransientFailure(error == null
          ? Status.UNAVAILABLE.withDescription("connection failed")
          : Statuses.status(error, "input.error"));
    } else {
      info = ConnectivityStateInfo.forNonError(to);
    }
    sync.execute(() -> subchannel.notifyState(info));
  }

  /**
   * Health arrives the production way: as responses on the {@code Health/Watch} stream that
   * grpc-services' HealthCheckingLoadBalancerFactory opened on the READY subchannel.
   */
  private void healthState(Map<String, ?> input) throws BadInput {
    FakeSubchannel subchannel = live(input, "health_state");
    ConnectivityState to = Statuses.state(input.get("state"), "input.state");
    FakeCall<?, ?> stream = subchannel.openStream(FakeSubchannel.HEALTH_WATCH);
    if (stream == null) {
      if (to == ConnectivityState.READY && subchannel.state == ConnectivityState.READY
          && !policy.equals("round_robin")) {
        // Only round_robin is wrapped in grpc-services' health checking
        // (HealthCheckingRoundRobinLoadBalancerProvider); under the other policies no health
        // producer exists and the leaf takes a READY subchannel as healthy at once
        // (PickFirstLeafLoadBalancer.java:606 at v1.85.1, HAS_HEALTH_PRODUCER_LISTENER_KEY).
        // Health READY is what the policy already sees: nothing to deliver.
        return;
      }
      throw new BadInput("health_state: no Health/Watch stream is open on subchannel "
          + subchannel.handle + " (" + subchannel.state + "); in grpc-java only round_robin"
          + " checks health (HealthCheckingRoundRobinLoadBalancerProvider)");
    }
    if (to == ConnectivityState.CONNECTING) {
      if (stream.responses == 0) {
        // Health is CONNECTING from the stream's start until its first response
        // (HealthCheckingLoadBalancerFactory.java:360 at v1.85.1): nothing to send.
        return;
      }
      throw new BadInput("health_state: CONNECTING after a response cannot be sent on the"
          + " Health/Watch stream (its statuses are SERVING and NOT_SERVING)");
    }
    io.grpc.health.v1.HealthCheckResponse.ServingStatus status =
        to == ConnectivityState.READY
            ? io.grpc.health.v1.HealthCheckResponse.ServingStatus.SERVING
            : io.grpc.health.v1.HealthCheckResponse.ServingStatus.NOT_SERVING;
    sync.execute(() -> stream.respond(
        io.grpc.health.v1.HealthCheckResponse.newBuilder().setStatus(status).build()));
  }

  private void oobLoadReport(Map<String, ?> input) throws BadInput {
    FakeSubchannel subchannel = live(input, "oob_load_report");
    if (subchannel.state != ConnectivityState.READY) {
      throw new BadInput("oob_load_report: subchannel " + subchannel.handle + " is "
          + subchannel.state + ", not READY");
    }
    Object report = Orca.report(input.get("report"), "input.report");
    FakeCall<?, ?> stream = subchannel.openStream(FakeSubchannel.ORCA_STREAM);
    if (stream != null) { // no stream: nobody asked for reports, so a backend sends none
      sync.execute(() -> stream.respond(report));
    }
  }

  // --- the helper the policy sees ---

  private final class Helper extends LoadBalancer.Helper {
    @Override
    public LoadBalancer.Subchannel createSubchannel(LoadBalancer.CreateSubchannelArgs args) {
      sync.throwIfNotInThisSynchronizationContext();
      FakeSubchannel subchannel = new FakeSubchannel(
          CaseChannel.this, "java-sc-" + nextHandle++, args, watchesHealth(args));
      subchannels.put(subchannel.handle, subchannel);
      emit(Json.obj(
          "type", "new_subchannel",
          "subchannel", subchannel.handle,
          "addresses", addresses.toJson(args.getAddresses()),
          "health_listener", subchannel.healthListener));
      return subchannel;
    }

    /**
     * new_subchannel.health_listener: whether the subchannel's health reaches the policy.
     *
     * <ul>
     *   <li>round_robin: grpc-services' HealthCheckingLoadBalancerFactory wraps every subchannel
     *       (HealthCheckingRoundRobinLoadBalancerProvider): the leaf pick_first's health listener
     *       gets the concluded health, and the legacy pick_first, which registers none, gets it
     *       through its state listener (HealthCheckState.init, "Only called in old pick first").
     *   <li>weighted_round_robin, least_request_experimental: the leaf registers a health listener
     *       and acts on it as a petiole child; the legacy pick_first registers none.
     *   <li>pick_first at the top: the leaf registers a listener on every subchannel
     *       (PickFirstLeafLoadBalancer.createNewSubchannel) but ignores it without
     *       IS_PETIOLE_POLICY, which only MultiChildLoadBalancer's children get
     *       (PickFirstLeafLoadBalancer.java:99-100 and :443 at v1.85.1): never.
     * </ul>
     */
    private boolean watchesHealth(LoadBalancer.CreateSubchannelArgs args) {
      if (policy.equals("pick_first")) {
        return false;
      }
      return policy.equals("round_robin")
          || args.getOption(LoadBalancer.HEALTH_CONSUMER_LISTENER_ARG_KEY) != null;
    }

    @Override
    public void updateBalancingState(
        ConnectivityState state, LoadBalancer.SubchannelPicker newPicker) {
      sync.throwIfNotInThisSynchronizationContext();
      if (closed) {
        return; // LbHelperImpl ignores a policy the channel has shut down
      }
      picker = newPicker;
      emit(Json.obj("type", "update_state", "state", state.name()));
    }

    @Override
    public void refreshNameResolution() {
      if (!closed) {
        emit(Json.obj("type", "request_reresolution"));
      }
    }

    @Override
    public SynchronizationContext getSynchronizationContext() {
      return sync;
    }

    @Override
    public ScheduledExecutorService getScheduledExecutorService() {
      return clock;
    }

    @Override
    public String getAuthority() {
      return AUTHORITY;
    }

    @Override
    public String getChannelTarget() {
      return "conformance:///" + policy;
    }

    @Override
    public ChannelLogger getChannelLogger() {
      return SILENT_LOGGER;
    }

    @Override
    public ManagedChannel createOobChannel(EquivalentAddressGroup group, String authority) {
      throw new UnsupportedOperationException("createOobChannel: no policy here uses one");
    }
  }
}
