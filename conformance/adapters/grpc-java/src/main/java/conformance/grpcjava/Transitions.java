package conformance.grpcjava;

import static io.grpc.ConnectivityState.CONNECTING;
import static io.grpc.ConnectivityState.IDLE;
import static io.grpc.ConnectivityState.READY;
import static io.grpc.ConnectivityState.TRANSIENT_FAILURE;

import io.grpc.ConnectivityState;

/**
 * The subchannel state changes grpc-java's InternalSubchannel reports, within the case's profile
 * (spec/connectivity.py). A case input outside them is one this channel could never deliver, and
 * the adapter refuses it rather than show the policy something production never does.
 *
 * <ul>
 *   <li>IDLE -> CONNECTING (obtainActiveTransport, InternalSubchannel.java:224), CONNECTING ->
 *       READY, CONNECTING -> TRANSIENT_FAILURE (scheduleBackoff, :664), READY -> IDLE
 *       (transportShutdown, :640): in both profiles.
 *   <li>TRANSIENT_FAILURE -> CONNECTING: the subchannel retries by itself when its backoff ends
 *       (EndOfCurrentBackoff, InternalSubchannel.java:304); the 'seed' profile's edge.
 *   <li>Never: TRANSIENT_FAILURE -> IDLE (the 'current' profile's edge; with reconnection
 *       disabled gotoState records IDLE but reports TRANSIENT_FAILURE only, :364),
 *       CONNECTING -> IDLE (a failed attempt goes on to the next address or to
 *       TRANSIENT_FAILURE) and READY -> TRANSIENT_FAILURE (a lost READY transport reports IDLE).
 * </ul>
 *
 * <p>Line numbers: grpc-java v1.85.1.
 */
final class Transitions {
  private Transitions() {}

  /** Why grpc-java's channel cannot deliver this change, or null when it can. */
  static String refusal(ConnectivityState from, ConnectivityState to, boolean seedProfile) {
    if (from == IDLE && to == CONNECTING
        || from == CONNECTING && (to == READY || to == TRANSIENT_FAILURE)
        || from == READY && to == IDLE) {
      return null;
    }
    if (from == CONNECTING && to == IDLE) {
      return "grpc-java's subchannel never reports CONNECTING -> IDLE: a failed attempt moves on"
          + " to the next address or to TRANSIENT_FAILURE (InternalSubchannel.java:664, v1.85.1)";
    }
    if (from == TRANSIENT_FAILURE && to == CONNECTING) {
      return seedProfile ? null : "not an edge of profile 'current'";
    }
    if (from == TRANSIENT_FAILURE && to == IDLE) {
      return "grpc-java's subchannel never reports TRANSIENT_FAILURE -> IDLE: it retries by"
          + " itself after its backoff, TRANSIENT_FAILURE -> CONNECTING"
          + " (InternalSubchannel.java:304, v1.85.1)";
    }
    if (from == READY && to == TRANSIENT_FAILURE) {
      return "grpc-java's subchannel reports a lost READY connection as IDLE"
          + " (InternalSubchannel.java:640, v1.85.1)";
    }
    return "not an edge of the subchannel state machine";
  }
}
