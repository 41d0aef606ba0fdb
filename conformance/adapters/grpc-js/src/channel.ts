// The channel around one grpc-js policy: what src/resolving-load-balancer.ts and
// src/internal-channel.ts do between the resolver, the policy and the calls,
// reduced to what a policy can observe. The policy itself is unmodified.
import { clock } from './clock';
import { experimental, Metadata, Status, validateServiceConfig } from './grpcjs';
import { decodedLoadReport, loadReportTrailer } from './orca';
import { SubchannelPool, type PooledSubchannel } from './subchannel';
import {
  InputError,
  type HostPort,
  type Input,
  type Json,
  type LoadReport,
  type Output,
  type StateName,
  type WireStatus,
} from './wire';

type Picker = experimental.Picker;
type PickResult = experimental.PickResult;
type ServiceConfig = ReturnType<typeof validateServiceConfig>;

const realSetImmediate = setImmediate; // not faked (clock.ts)

/**
 * A grpc-js channel running `policy`. The policy is chosen as a grpc-js user
 * chooses one: the channel's default service config (the `grpc.service_config`
 * channel option, src/resolving-load-balancer.ts:217-226) names it with an empty
 * config; a resolver update's `config` is the policy's entry in the service
 * config the resolver returns.
 */
export class ConformanceChannel {
  private readonly outputs: Output[] = [];
  private readonly pool = new SubchannelPool((output) => this.record(output));
  private readonly handler: experimental.ChildLoadBalancerHandler;
  private readonly channelOptions: { [key: string]: string };
  private readonly defaultServiceConfig: ServiceConfig;
  /** What the resolver returned last: it passes the same with an error (src/resolver-dns.ts:236-241). */
  private latestServiceConfig: ServiceConfig | Error | null = null;
  private picker: Picker | null = null;
  private closed = false;
  private readonly calls = new Map<number, PickResult>();

  constructor(private readonly policy: string) {
    if (!experimental.isLoadBalancerNameRegistered(policy)) {
      throw new InputError(`policy not registered in grpc-js: ${policy}`);
    }
    const serviceConfig = JSON.stringify({ loadBalancingConfig: [{ [policy]: {} }] });
    this.channelOptions = { 'grpc.service_config': serviceConfig };
    this.defaultServiceConfig = validateServiceConfig(JSON.parse(serviceConfig));
    // The helper ResolvingLoadBalancer gives its ChildLoadBalancerHandler
    // (src/resolving-load-balancer.ts:229-258) and what the channel behind it does.
    this.handler = new experimental.ChildLoadBalancerHandler({
      createSubchannel: (address, args) => this.pool.createSubchannel(address, args),
      updateState: (state, picker) => {
        if (this.closed) return;
        this.picker = picker;
        this.record({ type: 'update_state', state: stateName(state) });
      },
      // Recorded as the policy's call. The real ResolvingLoadBalancer then asks the
      // resolver, or defers the request while its backoff timer runs (lines 233-246).
      requestReresolution: () => {
        if (!this.closed) this.record({ type: 'request_reresolution' });
      },
      addChannelzChild: () => {},
      removeChannelzChild: () => {},
    });
  }

  private record(output: Output): void {
    this.outputs.push(output);
  }

  /** Delivers one input, waits until grpc-js is quiet, and returns what it did. */
  async step(input: Input): Promise<Output[]> {
    if (this.closed && input.type !== 'advance_time') {
      throw new InputError(`the channel is closed: ${input.type} cannot be delivered`);
    }
    this.deliver(input);
    if (input.type === 'advance_time') await clock.tickAsync(input.millis);
    await this.settle();
    this.pool.cleanUp();
    return this.outputs.splice(0);
  }

  private deliver(input: Input): void {
    switch (input.type) {
      case 'resolver_update':
        this.resolverResult(
          experimental.statusOrFromValue(endpoints(input.endpoints)),
          serviceConfigFor(this.policy, input.config),
          input.note,
        );
        return;
      case 'resolver_error':
        this.resolverResult(
          experimental.statusOrFromError({ code: Status.UNAVAILABLE, details: input.message }),
          this.latestServiceConfig,
          '',
        );
        return;
      case 'subchannel_state':
        this.pool.lookup(input.subchannel).setState(input.state, input.error?.message);
        return;
      case 'exit_idle':
        this.handler.exitIdle();
        return;
      case 'close':
        // The channel's close destroys the policy (src/resolving-load-balancer.ts:400);
        // the policy unrefs its subchannels and the pool's cleanup shuts them down.
        this.handler.destroy();
        this.closed = true;
        return;
      case 'pick':
        this.pick(input.pickId);
        return;
      case 'done':
        this.done(input.pickId, input.error, input.trailer, input.loadReport);
        return;
      case 'advance_time':
        return;
      case 'oob_load_report':
        this.pool.lookup(input.subchannel).deliverOobReport(decodedLoadReport(input.report));
        return;
    }
  }

  // ResolvingLoadBalancer.handleResolverResult (src/resolving-load-balancer.ts:277-334).
  // A service config whose policy entry does not parse is skipped by
  // selectLbConfigFromList, which falls back to the default policy, pick_first
  // (src/load-balancer.ts:231-259): the channel switches policy, as grpc-js does.
  private resolverResult(
    endpointList: experimental.StatusOr<experimental.Endpoint[]>,
    serviceConfig: ServiceConfig | Error | null,
    note: string,
  ): void {
    this.latestServiceConfig = serviceConfig;
    if (serviceConfig instanceof Error) {
      // No previous service config is ever kept (previousServiceConfig stays null,
      // lines 185, 295): the channel fails if the policy has not left IDLE.
      this.record({ type: 'update_rejected', reason: serviceConfig.message });
      return;
    }
    const working = serviceConfig ?? this.defaultServiceConfig;
    const lbConfig = experimental.selectLbConfigFromList(working.loadBalancingConfig, true);
    if (lbConfig === null) {
      this.record({ type: 'update_rejected', reason: 'All load balancer options in service config are not compatible' });
      return;
    }
    if (lbConfig.getLoadBalancerName() !== this.policy) {
      process.stderr.write(
        `grpc-js could not parse the ${this.policy} config and runs ${lbConfig.getLoadBalancerName()} instead\n`,
      );
    }
    const accepted = this.handler.updateAddressList(endpointList, lbConfig, { ...this.channelOptions }, note);
    if (!accepted) {
      this.record({ type: 'update_rejected', reason: `${lbConfig.getLoadBalancerName()}: updateAddressList returned false` });
    }
  }

  // The channel's pick (src/load-balancing-call.ts doPick): the picker in force,
  // onCallStarted when the call starts. Without a picker yet the channel queues.
  private pick(pickId: number): void {
    if (this.picker === null) {
      this.record({ type: 'pick_queue', pick_id: pickId });
      return;
    }
    const result = this.picker.pick({ metadata: new Metadata(), extraPickInfo: {} });
    switch (result.pickResultType) {
      case experimental.PickResultType.COMPLETE: {
        if (result.subchannel === null) throw new Error('a COMPLETE pick without a subchannel');
        const subchannel = result.subchannel.getRealSubchannel() as unknown as PooledSubchannel;
        result.onCallStarted?.();
        this.calls.set(pickId, result);
        this.record({ type: 'pick_complete', pick_id: pickId, subchannel: subchannel.handle });
        return;
      }
      case experimental.PickResultType.QUEUE:
        this.record({ type: 'pick_queue', pick_id: pickId });
        return;
      case experimental.PickResultType.TRANSIENT_FAILURE:
      case experimental.PickResultType.DROP: {
        const status = result.status ?? { code: Status.UNKNOWN, details: '' };
        const type = result.pickResultType === experimental.PickResultType.DROP ? 'pick_drop' : 'pick_fail';
        this.record({ type, pick_id: pickId, status: { code: Status[status.code], message: status.details } });
        return;
      }
    }
  }

  // The call ends: the pick's onCallEnded with the status and trailers.
  private done(
    pickId: number,
    error: WireStatus | null,
    trailer: { [key: string]: string },
    loadReport: LoadReport | null,
  ): void {
    const call = this.calls.get(pickId);
    if (call === undefined) throw new InputError(`pick ${pickId} did not complete`);
    this.calls.delete(pickId);
    const metadata = new Metadata();
    for (const [key, value] of Object.entries(trailer)) {
      if (key.endsWith('-bin')) metadata.set(key, Buffer.from(value, 'base64'));
      else metadata.set(key, value);
    }
    if (loadReport !== null) loadReportTrailer(loadReport, metadata);
    const code = error === null ? Status.OK : statusCode(error.code);
    call.onCallEnded?.(code, error?.message ?? 'OK', metadata);
  }

  // Quiet: grpc-js defers work with process.nextTick (and promises); both run
  // before a real setImmediate. Hop until a round adds no output. Fake timers do
  // not fire here: only advance_time moves the clock.
  private async settle(): Promise<void> {
    for (;;) {
      const before = this.outputs.length;
      await new Promise<void>((resolve) => realSetImmediate(resolve));
      await new Promise<void>((resolve) => realSetImmediate(resolve));
      if (this.outputs.length === before) return;
    }
  }

  /** The end of the case: the policy goes, as on close, without outputs. */
  dispose(): void {
    if (!this.closed) this.handler.destroy();
    this.closed = true;
  }
}

function stateName(state: number): StateName {
  const name = STATE_NAMES_BY_VALUE[state];
  if (name === undefined) throw new Error(`grpc-js reported connectivity state ${state}`);
  return name;
}
// grpc.connectivityState: IDLE 0, CONNECTING 1, READY 2, TRANSIENT_FAILURE 3, SHUTDOWN 4 (src/connectivity-state.ts).
const STATE_NAMES_BY_VALUE: { [state: number]: StateName } = {
  0: 'IDLE',
  1: 'CONNECTING',
  2: 'READY',
  3: 'TRANSIENT_FAILURE',
};

function statusCode(name: string): Status {
  const code = (Status as unknown as { [name: string]: Status | undefined })[name];
  if (typeof code !== 'number') throw new InputError(`not a status code: ${name}`);
  return code;
}

function endpoints(list: HostPort[][]): experimental.Endpoint[] {
  return list.map((addresses) => ({ addresses: addresses.map((a) => ({ host: a.host, port: a.port })) }));
}

/**
 * The service config a resolver returns for a case's `config`: the config is the
 * policy's entry in `loadBalancingConfig`, keys exactly as written (grpc-js reads
 * weighted_round_robin's keys in snake_case, src/load-balancer-weighted-round-robin.ts:130-143,
 * where gRFC A58's JSON uses camelCase: a recorded difference, not renamed here).
 * No config: the resolver returned none, and the channel uses its default.
 */
function serviceConfigFor(policy: string, config: Json | undefined): ServiceConfig | Error | null {
  if (config === undefined) return null;
  try {
    return validateServiceConfig({ loadBalancingConfig: [{ [policy]: config }] });
  } catch (error) {
    return error instanceof Error ? error : new Error(String(error));
  }
}
