package conformance.grpcjava;

import io.grpc.ConnectivityState;
import io.grpc.Status;
import java.util.Map;

/** Statuses and connectivity states between the wire and grpc-java. */
final class Statuses {
  private Statuses() {}

  static Status status(Object raw, String path) throws BadInput {
    Map<String, ?> obj = Json.object(raw, path);
    Object code = obj.get("code");
    Status status;
    if (code instanceof String) {
      try {
        status = Status.fromCode(Status.Code.valueOf((String) code));
      } catch (IllegalArgumentException e) {
        throw new BadInput(path + ".code: unknown status code " + code);
      }
    } else {
      status = Status.fromCodeValue((int) Json.integer(code, path + ".code"));
    }
    Object message = obj.get("message");
    return message == null ? status : status.withDescription(Json.string(message, path + ".message"));
  }

  static Map<String, Object> toJson(Status status) {
    Map<String, Object> out = Json.obj("code", status.getCode().name());
    if (status.getDescription() != null) {
      out.put("message", status.getDescription());
    }
    return out;
  }

  /** The status as one line of text, for update_rejected's reason. */
  static String describe(Status status) {
    return status.getCode() + (status.getDescription() != null ? ": " + status.getDescription() : "");
  }

  static ConnectivityState state(Object raw, String path) throws BadInput {
    String name = Json.string(raw, path);
    try {
      ConnectivityState state = ConnectivityState.valueOf(name);
      if (state != ConnectivityState.SHUTDOWN) {
        return state;
      }
    } catch (IllegalArgumentException e) {
      // fall through
    }
    throw new BadInput(path + ": not a state an input can carry: " + name);
  }
}
