// Everything the adapter takes from @grpc/grpc-js 1.14.7, in one place.
//
// Public API first: the `experimental` export (src/experimental.ts) has the
// policy registry and config parser, ChildLoadBalancerHandler (the object a
// grpc-js channel builds its policy with), BaseSubchannelWrapper and pickers.
//
// Deep imports (the package has no "exports" map, so build/src/* resolves);
// each is needed because no public export offers it:
// - service-config: validateServiceConfig, the parser a resolver's service
//   config goes through (src/service-config.ts:379; used by
//   src/resolving-load-balancer.ts:218 and the DNS resolver's TXT lookup).
// - orca: PerRequestMetricRecorder and GRPC_METRICS_HEADER to encode a load
//   report the way a grpc-js server does (src/orca.ts:62, 226), and
//   createMetricsReader to decode one as grpc-js's own ORCA stream client would
//   hand it over (src/orca.ts:236).
// - subchannel (types only): the Subchannel class that
//   SubchannelInterface.getRealSubchannel returns (src/subchannel-interface.ts).
import * as grpc from '@grpc/grpc-js';
import { validateServiceConfig } from '@grpc/grpc-js/build/src/service-config';
import {
  createMetricsReader,
  GRPC_METRICS_HEADER,
  PerRequestMetricRecorder,
} from '@grpc/grpc-js/build/src/orca';
import type { Subchannel } from '@grpc/grpc-js/build/src/subchannel';
import type { OrcaLoadReport__Output } from '@grpc/grpc-js/build/src/generated/xds/data/orca/v3/OrcaLoadReport';

export { experimental } from '@grpc/grpc-js';
export const Metadata = grpc.Metadata;
export type Metadata = grpc.Metadata;
export const Status = grpc.status;
export type Status = grpc.status;
export const ConnectivityState = grpc.connectivityState;
export type ConnectivityState = grpc.connectivityState;
export type Subchannel_ = Subchannel;
export type OrcaLoadReport = OrcaLoadReport__Output;
export { validateServiceConfig, createMetricsReader, GRPC_METRICS_HEADER, PerRequestMetricRecorder };

/** The version this adapter is pinned to (package.json, package-lock.json). */
export const GRPC_JS_VERSION: string = (require('@grpc/grpc-js/package.json') as { version: string })
  .version;
