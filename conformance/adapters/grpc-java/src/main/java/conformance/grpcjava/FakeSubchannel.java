package conformance.grpcjava;

import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.Channel;
import io.grpc.ChannelLogger;
import io.grpc.ClientCall;
import io.grpc.ConnectivityState;
import io.grpc.ConnectivityStateInfo;
import io.grpc.EquivalentAddressGroup;
import io.grpc.LoadBalancer;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import java.util.ArrayList;
import java.util.List;

/**
 * A subchannel whose connectivity comes from the case's inputs. It stands where grpc-java's
 * {@code ManagedChannelImpl.SubchannelImpl} / {@code InternalSubchannel} stand: it records {@code
 * requestConnection} and {@code shutdown}, calls the policy's listener on the synchronization
 * context, and serves the streams policies open on {@link #asChannel()}.
 */
final class FakeSubchannel extends LoadBalancer.Subchannel {
  static final String HEALTH_WATCH = "grpc.health.v1.Health/Watch";
  static final String ORCA_STREAM = "xds.service.orca.v3.OpenRcaService/StreamCoreMetrics";

  final String handle;
  final boolean healthListener;
  private final CaseChannel channel;
  private List<EquivalentAddressGroup> addresses;
  private LoadBalancer.SubchannelStateListener listener;
  ConnectivityState state = ConnectivityState.IDLE;
  boolean connectRequested;
  boolean shutdown;
  private final List<FakeCall<?, ?>> streams = new ArrayList<>();

  FakeSubchannel(
      CaseChannel channel, String handle, LoadBalancer.CreateSubchannelArgs args,
      boolean healthListener) {
    this.channel = channel;
    this.handle = handle;
    this.addresses = args.getAddresses();
    this.healthListener = healthListener;
  }

  @Override
  public void start(LoadBalancer.SubchannelStateListener stateListener) {
    if (listener != null) {
      throw new IllegalStateException("subchannel " + handle + " started twice");
    }
    listener = stateListener;
  }

  @Override
  public void requestConnection() {
    channel.emit(Json.obj("type", "connect", "subchannel", handle));
    connectRequested = true;
  }

  @Override
  public void shutdown() {
    if (shutdown) {
      return;
    }
    shutdown = true;
    channel.emit(Json.obj("type", "shutdown", "subchannel", handle));
    channel.deliverShutdown(this);
  }

  /** SHUTDOWN for the policy's listener (never a case input: only the policy shuts down). */
  void notifyShutdown() {
    if (listener != null) {
      listener.onSubchannelState(ConnectivityStateInfo.forNonError(ConnectivityState.SHUTDOWN));
    }
    closeStreams();
  }

  /** A connectivity change from the case; runs on the synchronization context. */
  void notifyState(ConnectivityStateInfo info) {
    state = info.getState();
    connectRequested = false;
    if (listener != null) {
      listener.onSubchannelState(info);
    }
    if (info.getState() != ConnectivityState.READY) {
      // The transport the streams ran on is gone. The health checker and the ORCA utility have
      // already cancelled theirs on seeing the state (so none retries on a backoff timer, whose
      // delay would come from real time and unseeded jitter); close whatever is left.
      closeStreams();
    }
  }

  private void closeStreams() {
    for (FakeCall<?, ?> call : new ArrayList<>(streams)) {
      call.close(Status.UNAVAILABLE.withDescription("connection lost"));
    }
    streams.clear();
  }

  /** The open stream of {@code method}, or null. */
  FakeCall<?, ?> openStream(String method) {
    for (FakeCall<?, ?> call : streams) {
      if (call.method.equals(method) && call.isOpen()) {
        return call;
      }
    }
    return null;
  }

  List<EquivalentAddressGroup> addresses() {
    return addresses;
  }

  @Override
  public List<EquivalentAddressGroup> getAllAddresses() {
    return addresses;
  }

  /**
   * The legacy pick_first re-targets its one subchannel instead of replacing it
   * (PickFirstLoadBalancer.java:91 at v1.85.1); the real InternalSubchannel keeps its connection
   * when the connected address is still listed.
   */
  @Override
  public void updateAddresses(List<EquivalentAddressGroup> newAddresses) {
    List<EquivalentAddressGroup> old = addresses;
    addresses = newAddresses;
    channel.addressesUpdated(this, old);
  }

  /** As the channel's own subchannels: no health producer marker (HealthProducerHelper adds it). */
  @Override
  public Attributes getAttributes() {
    return Attributes.EMPTY;
  }

  @Override
  public Object getInternalSubchannel() {
    return this;
  }

  @Override
  public ChannelLogger getChannelLogger() {
    return CaseChannel.SILENT_LOGGER;
  }

  @Override
  public Channel asChannel() {
    return new Channel() {
      @Override
      public <ReqT, RespT> ClientCall<ReqT, RespT> newCall(
          MethodDescriptor<ReqT, RespT> method, CallOptions callOptions) {
        String name = method.getFullMethodName();
        if (!name.equals(HEALTH_WATCH) && !name.equals(ORCA_STREAM)) {
          throw new UnsupportedOperationException("unexpected stream " + name + " on " + handle);
        }
        FakeCall<ReqT, RespT> call = new FakeCall<>(name);
        streams.add(call);
        return call;
      }

      @Override
      public String authority() {
        return CaseChannel.AUTHORITY;
      }
    };
  }
}
