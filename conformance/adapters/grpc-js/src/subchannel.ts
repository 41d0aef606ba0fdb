// The subchannels a grpc-js channel hands its policy, played by the adapter.
//
// In grpc-js a policy never creates or shuts down a connection itself:
// `createSubchannel` asks the channel's subchannel pool for the subchannel of
// that (address, arguments) pair, creating one only if none is pooled
// (src/subchannel-pool.ts:103-145), and wraps it in a per-call wrapper
// (src/internal-channel.ts:328-356). The policy refs what it keeps and unrefs
// what it drops (src/load-balancer-pick-first.ts:465, 340); the pool shuts a
// subchannel down once nothing but the pool holds it, on its 10 s cleanup tick
// (src/subchannel-pool.ts:30, 49-70; src/subchannel.ts:396-410).
//
// Protocol mapping (README "Subchannels: pool and refs"):
// - `new_subchannel` when the pool creates a subchannel; a createSubchannel that
//   finds a pooled one announces nothing (the policy got the same connection);
// - `shutdown` when, at the end of a step, no policy holds a reference: the
//   adapter runs the pool's cleanup after every step instead of every 10 s;
// - `connect` when startConnecting finds the subchannel IDLE.
import { experimental, ConnectivityState, type Subchannel_, type OrcaLoadReport } from './grpcjs';
import type { Output, StateName } from './wire';
import { InputError } from './wire';

type ConnectivityStateListener = experimental.ConnectivityStateListener;
type HealthListener = experimental.HealthListener;
type SubchannelInterface = experimental.SubchannelInterface;

/** The key's arguments leave out what the channel strips (src/internal-channel.ts:332-337). */
const EXCLUDED_ARGS_PREFIX = experimental.SUBCHANNEL_ARGS_EXCLUDE_KEY_PREFIX;
/** LeafLoadBalancer passes it to its pick_first, which then watches health (src/load-balancer-pick-first.ts:170, 615). */
const REPORT_HEALTH_STATUS = 'grpc-node.internal.pick-first.report_health_status';

interface OobWatcher {
  onMetricsUpdate(report: OrcaLoadReport): void;
}
interface DataWatcher {
  setSubchannel(subchannel: Subchannel_): void;
  destroy(): void;
}

/** What a real Subchannel's getOrCreateDataProducer returns (src/subchannel.ts:61, 569). */
class OobProducer {
  readonly watchers = new Set<OobWatcher>();
  constructor(private readonly owner: PooledSubchannel, private readonly name: string) {}
  addDataWatcher(watcher: OobWatcher): void {
    this.watchers.add(watcher);
  }
  removeDataWatcher(watcher: OobWatcher): void {
    this.watchers.delete(watcher);
    if (this.watchers.size === 0) this.owner.removeDataProducer(this.name);
  }
}

/** A pooled subchannel: the part of src/subchannel.ts a policy can see. */
export class PooledSubchannel implements SubchannelInterface {
  private state: ConnectivityState = ConnectivityState.IDLE;
  private readonly listeners = new Set<ConnectivityStateListener>();
  private readonly producers = new Map<string, OobProducer>();
  /** References held through the channel's wrappers (the pool's own one is implicit). */
  refs = 0;
  isShutDown = false;
  /** startConnecting() found it IDLE and no state change has happened since. */
  private connectRequested = false;
  /** startConnecting() found it in TRANSIENT_FAILURE: its backoff ends in CONNECTING, not IDLE
   * (continueConnecting, src/subchannel.ts:226-235, 464-480). */
  private continueConnecting = false;

  constructor(
    private readonly pool: SubchannelPool,
    readonly handle: string,
    readonly address: string,
    readonly channelzId: number,
  ) {}

  getConnectivityState(): ConnectivityState {
    return this.state;
  }
  addConnectivityStateListener(listener: ConnectivityStateListener): void {
    this.listeners.add(listener);
  }
  removeConnectivityStateListener(listener: ConnectivityStateListener): void {
    this.listeners.delete(listener);
  }
  // Real: on the next tick, IDLE -> CONNECTING; in TRANSIENT_FAILURE only a flag
  // that skips IDLE after the backoff; otherwise nothing (src/subchannel.ts:464-480).
  // Here the IDLE case is the `connect` output and the case then drives the states; the
  // flag is kept, so that a case cannot show the policy an IDLE it would never see.
  startConnecting(): void {
    process.nextTick(() => {
      if (!this.isShutDown && this.state === ConnectivityState.TRANSIENT_FAILURE) {
        this.continueConnecting = true;
        return;
      }
      if (this.isShutDown || this.state !== ConnectivityState.IDLE || this.connectRequested) return;
      this.connectRequested = true;
      this.pool.emit({ type: 'connect', subchannel: this.handle });
    });
  }
  getAddress(): string {
    return this.address;
  }
  throttleKeepalive(): void {}
  ref(): void {
    this.refs += 1;
  }
  unref(): void {
    this.refs -= 1;
  }
  getChannelzRef(): ReturnType<SubchannelInterface['getChannelzRef']> {
    return { kind: 'subchannel', id: this.channelzId, name: this.address } as ReturnType<
      SubchannelInterface['getChannelzRef']
    >;
  }
  // grpc-js has no client-side health checking: a real Subchannel is always healthy.
  isHealthy(): boolean {
    return true;
  }
  addHealthStateWatcher(_listener: HealthListener): void {}
  removeHealthStateWatcher(_listener: HealthListener): void {}
  addDataWatcher(watcher: DataWatcher): void {
    watcher.setSubchannel(this.asSubchannel());
  }
  getRealSubchannel(): Subchannel_ {
    return this.asSubchannel();
  }
  realSubchannelEquals(other: SubchannelInterface): boolean {
    return other.getRealSubchannel() === this.asSubchannel();
  }
  getCallCredentials(): ReturnType<SubchannelInterface['getCallCredentials']> {
    throw new Error('the conformance channel has no call credentials');
  }
  getChannel(): ReturnType<SubchannelInterface['getChannel']> {
    throw new Error('the conformance channel opens no streams');
  }
  // The ORCA out-of-band watcher asks for this (src/orca.ts:262). The real
  // producer opens a StreamCoreMetrics call while the subchannel is READY and
  // has watchers (src/orca.ts:300-322); `deliverOobReport` plays that stream.
  getOrCreateDataProducer(name: string): OobProducer {
    let producer = this.producers.get(name);
    if (producer === undefined) {
      producer = new OobProducer(this, name);
      this.producers.set(name, producer);
    }
    return producer;
  }
  removeDataProducer(name: string): void {
    this.producers.delete(name);
  }

  /** A report on the ORCA stream; none is open (no watcher, not READY) -> dropped, as a backend would send none. */
  deliverOobReport(report: OrcaLoadReport): void {
    if (this.state !== ConnectivityState.READY) return;
    for (const producer of this.producers.values()) {
      for (const watcher of producer.watchers) watcher.onMetricsUpdate(report);
    }
  }

  /** The connection's state changes; listeners hear it at once (src/subchannel.ts:315-386). */
  setState(next: StateName, errorMessage: string | undefined): void {
    if (this.isShutDown) throw new InputError(`subchannel ${this.handle} is shut down`);
    const target = ConnectivityState[next];
    if (this.state === ConnectivityState.IDLE && target !== ConnectivityState.IDLE && !this.connectRequested) {
      // A real Subchannel leaves IDLE only through startConnecting (src/subchannel.ts:464).
      throw new InputError(`subchannel ${this.handle} cannot leave IDLE: nothing called startConnecting()`);
    }
    if (this.state === ConnectivityState.TRANSIENT_FAILURE && target === ConnectivityState.IDLE && this.continueConnecting) {
      // subchannel.backoff_end = connecting_if_requested (spec/options.py).
      throw new InputError(
        `subchannel ${this.handle} cannot go TRANSIENT_FAILURE -> IDLE: a connection was requested during ` +
          'its backoff, so grpc-js goes CONNECTING when the backoff ends (src/subchannel.ts:226-230)',
      );
    }
    if (this.state === ConnectivityState.TRANSIENT_FAILURE && target === ConnectivityState.CONNECTING && !this.continueConnecting) {
      // The seed profile's retry edge: grpc-js takes it only after a request (src/subchannel.ts:226-231).
      throw new InputError(
        `subchannel ${this.handle} cannot go TRANSIENT_FAILURE -> CONNECTING: nothing called startConnecting() ` +
          'during its backoff, so grpc-js goes IDLE when the backoff ends (src/subchannel.ts:232-236)',
      );
    }
    if (this.state === ConnectivityState.CONNECTING && target === ConnectivityState.IDLE) {
      // grpc-go's edge (issue 7862, CONN-7); grpc-js takes it only when the last reference
      // is dropped (src/subchannel.ts:396-411), and then no policy listens any more.
      throw new InputError(
        `subchannel ${this.handle} cannot go CONNECTING -> IDLE: grpc-js does so only when its last ` +
          'reference is dropped (src/subchannel.ts:396-411), never while a policy holds it',
      );
    }
    if (this.state === ConnectivityState.READY && target === ConnectivityState.TRANSIENT_FAILURE) {
      // The seed profile's other edge, which grpc-js never takes.
      throw new InputError(
        `subchannel ${this.handle} cannot go READY -> TRANSIENT_FAILURE: grpc-js reports a lost connection as ` +
          'READY -> IDLE (src/subchannel.ts:276-279)',
      );
    }
    const previous = this.state;
    this.state = target;
    this.connectRequested = false;
    if (target === ConnectivityState.CONNECTING) this.continueConnecting = false;
    for (const listener of [...this.listeners]) {
      listener(this, previous, target, -1, errorMessage);
    }
  }

  private asSubchannel(): Subchannel_ {
    // The policies use only the SubchannelInterface part of Subchannel, which
    // this class implements; the type is grpc-js's concrete class.
    return this as unknown as Subchannel_;
  }
}

/** Per-createSubchannel handle, as the channel's ChannelSubchannelWrapper (src/internal-channel.ts:109). */
class ChannelSubchannelWrapper extends experimental.BaseSubchannelWrapper {}

/** The channel's subchannel pool, cleaned up at the end of every step. */
export class SubchannelPool {
  private readonly live = new Map<string, PooledSubchannel>();
  private readonly byHandle = new Map<string, PooledSubchannel>();
  private created = 0;

  constructor(readonly emit: (output: Output) => void) {}

  createSubchannel(address: experimental.SubchannelAddress, args: { [key: string]: unknown }): SubchannelInterface {
    const text = experimental.subchannelAddressToString(address);
    const key = `${text} ${canonicalArgs(args)}`;
    let subchannel = this.live.get(key);
    if (subchannel === undefined) {
      this.created += 1;
      subchannel = new PooledSubchannel(this, `js-sc-${this.created}`, text, this.created);
      this.live.set(key, subchannel);
      this.byHandle.set(subchannel.handle, subchannel);
      this.emit({
        type: 'new_subchannel',
        subchannel: subchannel.handle,
        addresses: [text],
        health_listener: args[REPORT_HEALTH_STATUS] === true,
      });
    }
    return new ChannelSubchannelWrapper(subchannel);
  }

  /** The live subchannel behind a handle the adapter gave out. */
  lookup(handle: unknown): PooledSubchannel {
    const subchannel = typeof handle === 'string' ? this.byHandle.get(handle) : undefined;
    if (subchannel === undefined) throw new InputError(`not a handle this adapter gave out: ${JSON.stringify(handle)}`);
    if (subchannel.isShutDown) throw new InputError(`subchannel ${subchannel.handle} is shut down`);
    return subchannel;
  }

  /** The pool's cleanup (src/subchannel-pool.ts:49): what no policy holds is shut down, in creation order. */
  cleanUp(): void {
    for (const [key, subchannel] of this.live) {
      if (subchannel.refs > 0) continue;
      this.live.delete(key);
      subchannel.isShutDown = true;
      this.emit({ type: 'shutdown', subchannel: subchannel.handle });
    }
  }
}

function canonicalArgs(args: { [key: string]: unknown }): string {
  const kept = Object.keys(args)
    .filter((key) => !key.startsWith(EXCLUDED_ARGS_PREFIX))
    .sort()
    .map((key) => [key, args[key]]);
  return JSON.stringify(kept);
}
