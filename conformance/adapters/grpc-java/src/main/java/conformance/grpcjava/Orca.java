package conformance.grpcjava;

import io.grpc.xds.shaded.com.github.xds.data.orca.v3.OrcaLoadReport;
import java.util.Map;

/** ORCA load reports: grpc-xds's own (shaded) OrcaLoadReport message. */
final class Orca {
  private Orca() {}

  static OrcaLoadReport report(Object raw, String path) throws BadInput {
    OrcaLoadReport.Builder report = OrcaLoadReport.newBuilder();
    for (Map.Entry<String, ?> field : Json.object(raw, path).entrySet()) {
      double value = Json.number(field.getValue(), path + "." + field.getKey());
      switch (field.getKey()) {
        case "cpu_utilization":
          report.setCpuUtilization(value);
          break;
        case "application_utilization":
          report.setApplicationUtilization(value);
          break;
        case "mem_utilization":
          report.setMemUtilization(value);
          break;
        case "rps_fractional":
          report.setRpsFractional(value);
          break;
        case "eps":
          report.setEps(value);
          break;
        default:
          throw new BadInput(path + ": unknown ORCA field " + field.getKey());
      }
    }
    return report.build();
  }
}
