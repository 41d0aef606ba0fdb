package conformance.grpcjava;

import io.grpc.LoadBalancerProvider;
import io.grpc.internal.GrpcUtil;
import java.util.List;
import java.util.Map;

/** Answers adapter protocol v1 messages (conformance/PROTOCOL.md), one case at a time. */
final class Adapter {
  static final int PROTOCOL = 1;

  private final PickFirstVariant variant;
  private CaseChannel channel;

  Adapter(PickFirstVariant variant) {
    this.variant = variant;
  }

  /** The reply to one message; null for {@code stop}. */
  Map<String, Object> handle(Map<String, ?> message) throws BadInput {
    String type = Json.string(message.get("type"), "type");
    switch (type) {
      case "start":
        return started();
      case "begin":
        return begin(message);
      case "step":
        long seq = Json.integer(message.get("seq"), "seq");
        if (channel == null) {
          return error("step before begin", seq);
        }
        try {
          List<Map<String, Object>> outputs =
              channel.step(Json.object(message.get("input"), "input"));
          return Json.obj("type", "outputs", "seq", seq, "outputs", outputs);
        } catch (BadInput e) {
          return error(e.getMessage(), seq);
        }
      case "end":
        channel = null;
        return Json.obj("type", "ended");
      case "stop":
        return null;
      default:
        throw new BadInput("type: unknown message " + type);
    }
  }

  static Map<String, Object> error(String message, Long seq) {
    Map<String, Object> reply = Json.obj("type", "error", "message", message);
    if (seq != null) {
      reply.put("seq", seq);
    }
    return reply;
  }

  private Map<String, Object> started() {
    return Json.obj(
        "type", "started",
        "protocol", PROTOCOL,
        "implementation", Json.obj(
            "name", "grpc-java (" + variant.label + ")",
            "version", GrpcUtil.getGrpcBuildVersion().getImplementationVersion(),
            "language", "java",
            "homepage", "https://github.com/grpc/grpc-java"),
        "capabilities", Json.obj(
            "policies", Policies.NAMES,
            "time", "virtual",
            "seedable_random", true,
            "health_listener", true,
            "orca", true,
            "profiles", List.of("current", "seed"),
            "spec_options", SpecOptions.declared(variant)));
  }

  private Map<String, Object> begin(Map<String, ?> message) throws BadInput {
    channel = null;
    String id = Json.string(message.get("case"), "case");
    String policy = Json.string(message.get("policy"), "policy");
    LoadBalancerProvider provider = Policies.provider(policy);
    if (provider == null) {
      return error("cannot begin case " + id + ": no policy " + policy + " here", null);
    }
    String profile = Json.string(message.get("profile"), "profile");
    if (!profile.equals("current") && !profile.equals("seed")) {
      return error("cannot begin case " + id + ": unknown profile " + profile, null);
    }
    channel = new CaseChannel(
        policy,
        provider,
        Json.integer(message.get("seed"), "seed"),
        Json.bool(message.get("health_checking"), "health_checking"),
        profile.equals("seed"));
    return Json.obj("type", "begun");
  }
}
