package conformance.grpcjava;

import java.math.BigDecimal;

/** Protobuf JSON durations ("0.25s") as nanoseconds. */
final class Durations {
  private Durations() {}

  static long nanos(String text) throws BadInput {
    if (!text.matches("[0-9]+(\\.[0-9]{1,9})?s")) {
      throw new BadInput("input.by: not a protobuf JSON duration: " + text);
    }
    return new BigDecimal(text.substring(0, text.length() - 1)).movePointRight(9).longValueExact();
  }
}
