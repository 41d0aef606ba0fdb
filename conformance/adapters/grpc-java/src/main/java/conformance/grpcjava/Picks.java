package conformance.grpcjava;

import io.grpc.Attributes;
import io.grpc.CallOptions;
import io.grpc.ClientStreamTracer;
import io.grpc.LoadBalancer;
import io.grpc.Metadata;
import io.grpc.MethodDescriptor;
import io.grpc.Status;
import io.grpc.internal.GrpcUtil;
import io.grpc.internal.PickSubchannelArgsImpl;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.util.HashMap;
import java.util.Map;

/**
 * Picks and their completions, as an RPC sees them. A pick calls the picker in force on the
 * caller's thread (the channel does so outside the synchronization context) and classifies the
 * result as GrpcUtil.getTransportFromPickResult does. A completed pick's stream tracer is created
 * and told the stream started, as the transport does; {@code done} hands it the trailers (with
 * the ORCA report as {@code endpoint-load-metrics-bin}, as a backend sends it) and closes it.
 */
final class Picks {
  private static final String DEFAULT_METHOD = "grpc.testing.TestService/UnaryCall";
  private static final Metadata.Key<byte[]> ORCA_TRAILER =
      Metadata.Key.of("endpoint-load-metrics-bin", Metadata.BINARY_BYTE_MARSHALLER);

  private static final MethodDescriptor.Marshaller<Object> NO_MARSHALLER =
      new MethodDescriptor.Marshaller<Object>() {
        @Override
        public InputStream stream(Object value) {
          return new ByteArrayInputStream(new byte[0]);
        }

        @Override
        public Object parse(InputStream stream) {
          return null;
        }
      };

  private final CaseChannel channel;
  private final Map<Long, Pick> picks = new HashMap<>();

  /** A pick the runner may later finish with {@code done}. */
  private static final class Pick {
    final boolean complete;
    final ClientStreamTracer tracer;
    boolean finished;

    Pick(boolean complete, ClientStreamTracer tracer) {
      this.complete = complete;
      this.tracer = tracer;
    }
  }

  Picks(CaseChannel channel) {
    this.channel = channel;
  }

  void pick(Map<String, ?> input) throws BadInput {
    long id = Json.integer(input.get("pick_id"), "input.pick_id");
    if (picks.containsKey(id)) {
      throw new BadInput("pick: pick_id " + id + " was used before");
    }
    String method = DEFAULT_METHOD;
    if (input.get("method") != null) {
      method = Json.string(input.get("method"), "input.method");
      method = method.startsWith("/") ? method.substring(1) : method;
    }
    CallOptions callOptions = CallOptions.DEFAULT;
    if (input.get("wait_for_ready") != null
        && Json.bool(input.get("wait_for_ready"), "input.wait_for_ready")) {
      callOptions = callOptions.withWaitForReady();
    }
    LoadBalancer.SubchannelPicker picker = channel.picker();
    if (picker == null) { // no picker yet: the channel queues the RPC (DelayedClientTransport)
      picks.put(id, new Pick(false, null));
      channel.emit(Json.obj("type", "pick_queue", "pick_id", id));
      return;
    }
    Metadata headers = new Metadata();
    MethodDescriptor<Object, Object> descriptor =
        MethodDescriptor.newBuilder(NO_MARSHALLER, NO_MARSHALLER)
            .setType(MethodDescriptor.MethodType.UNARY)
            .setFullMethodName(method)
            .build();
    LoadBalancer.PickResult result = picker.pickSubchannel(new PickSubchannelArgsImpl(
        descriptor, headers, callOptions, new LoadBalancer.PickDetailsConsumer() {}));
    channel.emit(outcome(id, result, callOptions, headers));
  }

  private Map<String, Object> outcome(
      long id, LoadBalancer.PickResult result, CallOptions callOptions, Metadata headers) {
    if (result.getSubchannel() != null && result.getStatus().isOk()) {
      // Wrappers (health checking) unwrap to the channel's subchannel; so does this.
      FakeSubchannel subchannel = (FakeSubchannel) result.getSubchannel().getInternalSubchannel();
      ClientStreamTracer tracer = null;
      ClientStreamTracer.Factory factory = result.getStreamTracerFactory();
      if (factory != null) {
        tracer = factory.newClientStreamTracer(
            ClientStreamTracer.StreamInfo.newBuilder().setCallOptions(callOptions).build(),
            headers);
        tracer.streamCreated(Attributes.EMPTY, headers);
      }
      picks.put(id, new Pick(true, tracer));
      return Json.obj("type", "pick_complete", "pick_id", id, "subchannel", subchannel.handle);
    }
    picks.put(id, new Pick(false, null));
    if (!result.getStatus().isOk()) {
      // Codes gRFC A54 keeps from the control plane become INTERNAL (GrpcUtil.java:760, v1.85.1).
      Status status = GrpcUtil.replaceInappropriateControlPlaneStatus(result.getStatus());
      return Json.obj(
          "type", result.isDrop() ? "pick_drop" : "pick_fail",
          "pick_id", id,
          "status", Statuses.toJson(status));
    }
    return Json.obj("type", "pick_queue", "pick_id", id);
  }

  void done(Map<String, ?> input) throws BadInput {
    long id = Json.integer(input.get("pick_id"), "input.pick_id");
    Pick pick = picks.get(id);
    if (pick == null || !pick.complete || pick.finished) {
      throw new BadInput("done: pick " + id + " did not complete, or is done already");
    }
    pick.finished = true;
    Status status = input.get("error") == null
        ? Status.OK
        : Statuses.status(input.get("error"), "input.error");
    Metadata trailers = new Metadata();
    for (Map.Entry<String, Object> entry :
        Json.objectOrEmpty(input.get("trailer"), "input.trailer").entrySet()) {
      trailers.put(
          Metadata.Key.of(entry.getKey(), Metadata.ASCII_STRING_MARSHALLER),
          String.valueOf(entry.getValue()));
    }
    if (input.get("load_report") != null) {
      trailers.put(
          ORCA_TRAILER, Orca.report(input.get("load_report"), "input.load_report").toByteArray());
    }
    if (pick.tracer != null) {
      pick.tracer.inboundTrailers(trailers);
      pick.tracer.streamClosed(status);
    }
  }
}
