package conformance.grpcjava;

import static io.grpc.ConnectivityState.CONNECTING;
import static io.grpc.ConnectivityState.IDLE;
import static io.grpc.ConnectivityState.READY;
import static io.grpc.ConnectivityState.TRANSIENT_FAILURE;

import io.grpc.ConnectivityState;

/**
 * The subchannel edges a case may deliver: the profile's table (spec/connectivity.py). grpc-java's
 * own InternalSubchannel goes TRANSIENT_FAILURE -> CONNECTING by itself after its backoff (the
 * 'seed' edge); the 'current' profile's TRANSIENT_FAILURE -> IDLE is what it does when the policy
 * disables reconnection (DISABLE_SUBCHANNEL_RECONNECT_KEY). Both profiles are offered.
 */
final class Transitions {
  private Transitions() {}

  static boolean legal(ConnectivityState from, ConnectivityState to, boolean seedProfile) {
    if (from == IDLE) {
      return to == CONNECTING;
    }
    if (from == CONNECTING) {
      return to == READY || to == TRANSIENT_FAILURE || to == IDLE;
    }
    if (from == READY) {
      return to == IDLE || (seedProfile && to == TRANSIENT_FAILURE);
    }
    if (from == TRANSIENT_FAILURE) {
      return to == IDLE || (seedProfile && to == CONNECTING);
    }
    return false;
  }
}
