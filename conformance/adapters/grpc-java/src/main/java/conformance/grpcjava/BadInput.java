package conformance.grpcjava;

/** An input the adapter cannot deliver: malformed, or one the real channel could not produce. */
final class BadInput extends Exception {
  private static final long serialVersionUID = 1L;

  BadInput(String message) {
    super(message);
  }
}
