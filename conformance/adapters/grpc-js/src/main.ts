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
    profiles: ['current'],
    spec_options: {
      // pick_first asks for re-resolution when every address has failed
      // (src/load-balancer-pick-first.ts:317), as the spec text says; it does not on a
      // lost connection (the channel re-resolves when it leaves IDLE instead,
      // src/resolving-load-balancer.ts:375-383): see README "Spec options".
      'pick_first.reresolution': 'spec_text',
      // No clamping of weights around the mean (src/load-balancer-weighted-round-robin.ts:183-203),
      // the behaviour this value names.
      'weighted_round_robin.weight_caps': 'grpc_go',
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
    if (message['profile'] !== 'current') {
      return { type: 'error', message: `only the current subchannel profile is offered, not ${String(message['profile'])}` };
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
