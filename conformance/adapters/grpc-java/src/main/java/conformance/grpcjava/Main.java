package conformance.grpcjava;

import io.grpc.internal.PickFirstAccess;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * grpc-java's real load-balancing policies as a conformance adapter speaking protocol v1 on
 * stdin/stdout (conformance/PROTOCOL.md). {@code --pick-first=leaf|legacy} chooses which of the
 * two pick_first policies this process runs (round_robin and the others build their children with
 * the same one). See README.md beside this file.
 */
public final class Main {
  private Main() {}

  public static void main(String[] args) throws IOException {
    PickFirstVariant variant = null;
    for (String arg : args) {
      for (PickFirstVariant v : PickFirstVariant.values()) {
        if (arg.equals("--pick-first=" + v.flag)) {
          variant = v;
        }
      }
    }
    if (variant == null || args.length != 1) {
      System.err.println("usage: grpc-java-adapter --pick-first=leaf|legacy");
      System.exit(2);
      return;
    }
    configure(variant);
    serve(new Adapter(variant));
  }

  /** Process-wide switches, set once before any policy is built. */
  private static void configure(PickFirstVariant variant) {
    PickFirstAccess.useLeafPickFirst(variant == PickFirstVariant.LEAF);
    // Read per PickFirstLeafLoadBalancer instance (PickFirstLoadBalancerProvider
    // .isEnabledHappyEyeballs); gRFC A61 has it on.
    System.setProperty("GRPC_PF_USE_HAPPY_EYEBALLS", "true");
    Policies.pinChildOrderOffset();
  }

  private static void serve(Adapter adapter) throws IOException {
    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    BufferedWriter out =
        new BufferedWriter(new OutputStreamWriter(System.out, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      if (line.isBlank()) {
        continue;
      }
      Map<String, Object> reply;
      try {
        reply = adapter.handle(Json.parseObject(line));
      } catch (BadInput e) {
        reply = Adapter.error("bad request: " + e.getMessage(), null);
      } catch (RuntimeException e) {
        // A bug here or in grpc-java: the trace goes to stderr (the runner keeps its tail).
        StringWriter trace = new StringWriter();
        e.printStackTrace(new PrintWriter(trace));
        System.err.print(trace);
        System.err.flush();
        reply = Adapter.error("the adapter failed: " + e + " (see its stderr)", null);
      }
      if (reply == null) {
        break;
      }
      out.write(Json.write(reply));
      out.write('\n');
      out.flush();
    }
    out.flush();
  }
}
