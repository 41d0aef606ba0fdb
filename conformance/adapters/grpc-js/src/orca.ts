// Load reports as grpc-js meets them: per call, the server's
// `endpoint-load-metrics-bin` trailer, decoded by the picker's own metrics reader
// (src/orca.ts:236, wrapped around onCallEnded at
// src/load-balancer-weighted-round-robin.ts:216); out of band, the decoded
// OrcaLoadReport message that grpc-js's ORCA stream hands its watchers
// (src/orca.ts:313-319).
import { createMetricsReader, GRPC_METRICS_HEADER, Metadata, PerRequestMetricRecorder, type OrcaLoadReport } from './grpcjs';
import type { LoadReport } from './wire';

/** The trailer a grpc-js server would send (PerRequestMetricRecorder, src/orca.ts:62). */
export function loadReportTrailer(report: LoadReport, into: Metadata): void {
  const recorder = new PerRequestMetricRecorder();
  if (report.cpu_utilization !== undefined) recorder.recordCPUUtilizationMetric(report.cpu_utilization);
  if (report.mem_utilization !== undefined) recorder.recordMemoryUtilizationMetric(report.mem_utilization);
  if (report.application_utilization !== undefined) {
    recorder.recordApplicationUtilizationMetric(report.application_utilization);
  }
  if (report.rps_fractional !== undefined) recorder.recordQpsMetric(report.rps_fractional);
  if (report.eps !== undefined) recorder.recordEpsMetric(report.eps);
  into.set(GRPC_METRICS_HEADER, recorder.serialize());
}

/** The report as grpc-js decodes it from the wire (unset fields become 0). */
export function decodedLoadReport(report: LoadReport): OrcaLoadReport {
  const trailer = new Metadata();
  loadReportTrailer(report, trailer);
  let decoded: OrcaLoadReport | null = null;
  createMetricsReader((parsed) => {
    decoded = parsed;
  }, null)(0, '', trailer);
  if (decoded === null) throw new Error('grpc-js did not decode the load report it encoded');
  return decoded;
}
