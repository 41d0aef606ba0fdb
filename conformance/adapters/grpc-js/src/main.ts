#!/usr/bin/env node
// The conformance adapter for @grpc/grpc-js: adapter protocol v1 on stdin/stdout
// (conformance/PROTOCOL.md), one JSON object per line, one reply per request.
import { resetClock, seedRandom } from './clock'; // first: fakes the timers before grpc-js runs
import * as readline from 'node:readline';
import { ConformanceChannel } from './channel';
import { experimental, GRPC_JS_VERSION } from './grpcjs';
import { expectObject, InputError, parseInput, type Json, type JsonObject } from './wire';

const PROTOCOL_VERSION = 1;

// The suite's policy names; the adapter offers those grpc-js registers
// (pick_first, round_robin, weighted_round_robin; no least_request in grpc-js).
const SUITE_POLICIES = ['pick_first', 'round_robin', 'weighted_round_robin', 'least_request_experimental'];

function capabilities(): JsonObject {
  return {
    policies: SUITE_POLICIES.filter((name) => experimental.isLoadBalancerNameRegistered(name)),
    time: 'virtual',
    seedable_random: true,
    // grpc-js has no client-side health checking (README "Health").
    health_listener: false,
    orca: true,
    // 'seed' adds TRANSIENT_FAILURE -> CONNECTING, which grpc-js takes when startConnecting()
    // was called during the backoff (src/subchannel.ts:226-231); its READY -> TRANSIENT_FAILURE
    // never happens (a lost connection is READY -> IDLE, 276-279) and is refused (subchannel.ts).
    profiles: ['current', 'seed'],
    spec_options: {
      // pick_first asks for re-resolution when every address has failed
      // (src/load-balancer-pick-first.ts:317), as the spec text says; it does not on a
      // lost connection (351-354; the channel re-resolves when it leaves IDLE instead,
      // src/resolving-load-balancer.ts:375-383): see README "Spec options".
      'pick_first.reresolution': 'grpc_js',
      // The lost pick is unreffed, its last reference (removeCurrentPick,
      // src/load-balancer-pick-first.ts:330-342, 351-354): IDLE holds no subchannel.
      'pick_first.lost_subchannel': 'released',
      // pick_first creates a subchannel for every address of a list before connecting the
      // first (src/load-balancer-pick-first.ts:474-479, connectToAddressList).
      'pick_first.subchannel_creation': 'eager',
      // The 250 ms Connection Attempt Delay (src/load-balancer-pick-first.ts:60, 417).
      'pick_first.happy_eyeballs': 'enabled',
      // A resolver error is acted on only with no children and no pick, sticky TRANSIENT_FAILURE
      // included (src/load-balancer-pick-first.ts:519-528).
      'pick_first.resolver_error_with_addresses': 'ignore',
      // IPv6 and everything else (src/load-balancer-pick-first.ts:139-165, interleaveAddressFamilies).
      'pick_first.family_interleaving': 'two_families',
      // isIPv6(host) is true for an IPv4-mapped IPv6 literal (src/load-balancer-pick-first.ts:148-151).
      'pick_first.ipv4_mapped_family': 'ipv6',
      // An update that finds the pooled READY subchannel picks it again and reports READY
      // (src/load-balancer-pick-first.ts:480-484, 441).
      'pick_first.ready_on_update': 'ready_again',
      // One subchannel per address: the leaf policy of gRFC A61 (load-balancer-pick-first.ts).
      'pick_first.variant': 'leaf',
      // CONNECTING is reported as the pass starts; the subchannel connects on the next tick
      // (src/load-balancer-pick-first.ts:506-507, 410-412).
      'pick_first.connecting_report': 'on_connect',
      // A new READY picker starts where the old one would have picked next
      // (src/load-balancer-round-robin.ts:146-154).
      'round_robin.start_index': 'shared_counter',
      // An IDLE child ranks below TRANSIENT_FAILURE (src/load-balancer-round-robin.ts:142-182).
      'round_robin.idle_child': 'after_failure',
      // Every update ends with a report, unchanged or not (src/load-balancer-round-robin.ts:260).
      'round_robin.update_report': 'every_update',
      // A resolver error is acted on only with no children (src/load-balancer-round-robin.ts:225-234).
      'round_robin.resolver_error': 'ignore',
      // exitIdle does nothing; IDLE children are told by calculateAndUpdateState (265-269, 187-191).
      'round_robin.exit_idle': 'noop',
      // Picks in TRANSIENT_FAILURE fail with 'Last error: ' and the last error a child reported
      // (src/load-balancer-round-robin.ts:124-126, 170-176).
      'round_robin.failure_error': 'most_recent',
      // One child per listed endpoint, repeats included (src/load-balancer-round-robin.ts:248-256);
      // the copies share the pooled subchannel, which gets one turn per copy.
      'round_robin.repeated_endpoint': 'every_copy',
      // Every update replaces every child (src/load-balancer-round-robin.ts:237, 248-256); the
      // pool hands the new children the old ones' subchannels (subchannel.pool below).
      'round_robin.children_on_update': 'rebuilt',
      // After the backoff: CONNECTING if startConnecting() was called during it, else IDLE
      // (src/subchannel.ts:226-235); pick_first always calls it (load-balancer-pick-first.ts:373).
      'subchannel.backoff_end': 'connecting_if_requested',
      // createSubchannel asks the channel's pool, which hands back a live subchannel for the
      // address (src/internal-channel.ts:328-343, src/subchannel-pool.ts:116-145); this
      // adapter keeps that pool (src/subchannel.ts, README "Subchannels: pool and refs").
      'subchannel.pool': 'shared',
      // No clamping of weights around the mean (src/load-balancer-weighted-round-robin.ts:183-203),
      // the behaviour this value names.
      'weighted_round_robin.weight_caps': 'grpc_go',
      // On READY only the blackout restarts (src/load-balancer-weighted-round-robin.ts:414-416).
      'weighted_round_robin.weight_on_reconnect': 'reset_non_empty_since',
      // Each new picker draws every endpoint's first deadline at random
      // (src/load-balancer-weighted-round-robin.ts:195-202).
      'weighted_round_robin.start_index': 'random_per_picker',
      // loadBalancingPolicy is validated as a string and never read (src/service-config.ts:384-388).
      'service_config.unknown_policy_name': 'ignored',
      // A pending child's CONNECTING is always held, any other report swaps it in; the current
      // child's reports always pass (src/load-balancer-child-handler.ts:51-63).  Not exercised:
      // this adapter builds one named policy, without the channel's child handler.
      'service_config.graceful_switch': 'hold_connecting',
      // An invalid service config is a resolution failure while previousServiceConfig is null
      // (src/resolving-load-balancer.ts:294-300), and it is only ever set to null (185, 409):
      // a resolver error puts no config in force.  Not shown by the pick_first cases: an
      // invalid pick_first config does not make the service config invalid (load-balancer.ts:231-259).
      'service_config.resolver_error_before_config': 'no_config',
      // Not declared: pick_first.sticky_failure_report. Written as every_n_failures
      // (maybeEnterStickyTransientFailureMode, 313-328), but resetChildrenReportedTF (260-262)
      // clears only the first child, so it re-reports on each failure of the first address:
      // neither value (docs/findings.md, grpc-js 12); judged by the default, every_n_failures.
      // Not declared: pick_first.selected_address_removed. An update without the READY
      // address keeps the old pick READY while the new list connects (connectToAddressList
      // does not drop currentPick, 474-507): neither goes_idle nor reconnects, a divergence
      // from the text (spec/options.py records grpc-js as 'diverges').
    },
  };
}

class Adapter {
  private channel: ConformanceChannel | null = null;

  async handle(message: JsonObject): Promise<JsonObject | null> {
    switch (message['type']) {
      case 'start':
        return {
          type: 'started',
          protocol: PROTOCOL_VERSION,
          implementation: {
            name: 'grpc-js',
            version: GRPC_JS_VERSION,
            language: 'typescript',
            homepage: 'https://github.com/grpc/grpc-node/tree/master/packages/grpc-js',
          },
          capabilities: capabilities(),
        };
      case 'begin':
        return this.begin(message);
      case 'step':
        return this.step(message);
      case 'end':
        this.endCase();
        return { type: 'ended' };
      case 'stop':
        return null;
      default:
        return { type: 'error', message: `unknown message type ${JSON.stringify(message['type'] ?? null)}` };
    }
  }

  private begin(message: JsonObject): JsonObject {
    this.endCase();
    const policy = message['policy'];
    const seed = message['seed'];
    if (typeof policy !== 'string' || typeof seed !== 'number') {
      return { type: 'error', message: 'begin needs a policy (string) and a seed (number)' };
    }
    if (message['profile'] !== 'current' && message['profile'] !== 'seed') {
      return { type: 'error', message: `unknown subchannel profile ${String(message['profile'])}` };
    }
    if (message['health_checking'] === true) {
      return { type: 'error', message: 'grpc-js has no client-side health checking' };
    }
    seedRandom(seed);
    try {
      this.channel = new ConformanceChannel(policy);
    } catch (error) {
      if (error instanceof InputError) return { type: 'error', message: error.message };
      throw error;
    }
    return { type: 'begun' };
  }

  private async step(message: JsonObject): Promise<JsonObject> {
    const seq = typeof message['seq'] === 'number' ? message['seq'] : -1;
    if (this.channel === null) return { type: 'error', seq, message: 'step before begin' };
    try {
      const outputs = await this.channel.step(parseInput(message['input']));
      return { type: 'outputs', seq, outputs: outputs as unknown as Json[] };
    } catch (error) {
      if (error instanceof InputError) return { type: 'error', seq, message: error.message };
      throw error;
    }
  }

  private endCase(): void {
    this.channel?.dispose();
    this.channel = null;
    resetClock();
  }
}

async function main(): Promise<void> {
  const adapter = new Adapter();
  const lines = readline.createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    let reply: JsonObject | null;
    try {
      reply = await adapter.handle(expectObject(JSON.parse(line) as Json, 'message'));
    } catch (error) {
      // A bug here or in grpc-js: the stack goes to stderr (the runner shows its tail).
      process.stderr.write(`${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      reply = { type: 'error', message: `the adapter failed: ${error instanceof Error ? error.message : String(error)}` };
    }
    if (reply === null) break;
    process.stdout.write(`${JSON.stringify(reply)}\n`);
  }
  process.exit(0);
}

void main();
