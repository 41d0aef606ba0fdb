package conformance.grpcjava;

import io.grpc.ClientCall;
import io.grpc.Metadata;
import io.grpc.Status;

/**
 * A stream a policy opened on a fake subchannel's {@code asChannel()}: grpc-services' {@code
 * grpc.health.v1.Health/Watch} or grpc-xds's ORCA {@code StreamCoreMetrics}. Nothing is
 * marshalled: the adapter hands the listener the response objects themselves, as the transport
 * would after parsing them.
 */
final class FakeCall<ReqT, RespT> extends ClientCall<ReqT, RespT> {
  final String method;
  private Listener<RespT> listener;
  private boolean headersSent;
  private boolean cancelled;
  /** Responses delivered on this stream so far. */
  int responses;

  FakeCall(String method) {
    this.method = method;
  }

  boolean isOpen() {
    return listener != null && !cancelled;
  }

  /** One response from the backend (the first one comes after the response headers). */
  @SuppressWarnings("unchecked")
  void respond(Object response) {
    if (!headersSent) {
      headersSent = true;
      listener.onHeaders(new Metadata());
    }
    responses++;
    listener.onMessage((RespT) response);
  }

  /** The backend ends the stream (the subchannel's transport went away). */
  void close(Status status) {
    if (isOpen()) {
      cancelled = true;
      listener.onClose(status, new Metadata());
    }
  }

  @Override
  public void start(Listener<RespT> responseListener, Metadata headers) {
    this.listener = responseListener;
  }

  @Override
  public void request(int numMessages) {}

  /** The policy gave the stream up (a transport would now close it without telling it more). */
  @Override
  public void cancel(String message, Throwable cause) {
    cancelled = true;
  }

  @Override
  public void halfClose() {}

  @Override
  public void sendMessage(ReqT message) {}
}
