// Adapter protocol v1 on the wire (conformance/PROTOCOL.md): JSON types, input
// decoding and output shapes. Nothing here knows grpc-js.

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** An input this adapter cannot deliver: answered with an `error` reply (the case is ERROR). */
export class InputError extends Error {}

export type StateName = 'IDLE' | 'CONNECTING' | 'READY' | 'TRANSIENT_FAILURE';
const STATE_NAMES: readonly StateName[] = ['IDLE', 'CONNECTING', 'READY', 'TRANSIENT_FAILURE'];

export interface HostPort {
  host: string;
  port: number;
}
export interface WireStatus {
  code: string;
  message: string;
}
export interface LoadReport {
  cpu_utilization?: number;
  application_utilization?: number;
  mem_utilization?: number;
  rps_fractional?: number;
  eps?: number;
}

export type Input =
  | { type: 'resolver_update'; endpoints: HostPort[][]; config: Json | undefined; note: string }
  | { type: 'resolver_error'; message: string }
  | { type: 'subchannel_state'; subchannel: Json; state: StateName; error: WireStatus | null }
  | { type: 'exit_idle' }
  | { type: 'close' }
  | { type: 'pick'; pickId: number }
  | {
      type: 'done';
      pickId: number;
      error: WireStatus | null;
      trailer: { [key: string]: string };
      loadReport: LoadReport | null;
    }
  | { type: 'advance_time'; millis: number }
  | { type: 'oob_load_report'; subchannel: Json; report: LoadReport };

export type Output =
  | { type: 'new_subchannel'; subchannel: string; addresses: string[]; health_listener: boolean }
  | { type: 'connect'; subchannel: string }
  | { type: 'shutdown'; subchannel: string }
  | { type: 'update_state'; state: StateName }
  | { type: 'request_reresolution' }
  | { type: 'update_rejected'; reason: string }
  | { type: 'pick_complete'; pick_id: number; subchannel: string }
  | { type: 'pick_queue'; pick_id: number }
  | { type: 'pick_fail'; pick_id: number; status: WireStatus }
  | { type: 'pick_drop'; pick_id: number; status: WireStatus };

function isObject(value: Json | undefined): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function expectObject(value: Json | undefined, where: string): JsonObject {
  if (!isObject(value)) throw new InputError(`${where}: expected an object`);
  return value;
}

function expectString(value: Json | undefined, where: string): string {
  if (typeof value !== 'string') throw new InputError(`${where}: expected a string`);
  return value;
}

function expectInt(value: Json | undefined, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new InputError(`${where}: expected an integer`);
  }
  return value;
}

function expectNumber(value: Json | undefined, where: string): number {
  if (typeof value !== 'number') throw new InputError(`${where}: expected a number`);
  return value;
}

function expectList(value: Json | undefined, where: string): Json[] {
  if (!Array.isArray(value)) throw new InputError(`${where}: expected a list`);
  return value;
}

/** "10.0.0.1:80" or "[2001:db8::1]:443". */
export function parseHostPort(text: string, where: string): HostPort {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(text) ?? /^([^:[\]]+):(\d+)$/.exec(text);
  if (match === null) throw new InputError(`${where}: not host:port: ${JSON.stringify(text)}`);
  return { host: match[1]!, port: Number(match[2]) };
}

function isEmpty(value: Json | undefined): boolean {
  return value === undefined || value === null || value === '' || (isObject(value) && Object.keys(value).length === 0);
}

// grpc-js's resolver results carry neither address attributes nor endpoint
// weights: SubchannelAddress is {host, port} (or a path) and Endpoint is
// {addresses} (src/subchannel-address.ts). Such inputs cannot be produced for a
// grpc-js channel, so they are refused rather than silently dropped.
function parseAddress(value: Json, where: string): HostPort {
  if (typeof value === 'string') return parseHostPort(value, where);
  const address = expectObject(value, where);
  for (const key of ['server_name', 'attributes', 'balancer_attributes']) {
    if (!isEmpty(address[key])) {
      throw new InputError(`${where}.${key}: a grpc-js SubchannelAddress has no ${key} (src/subchannel-address.ts)`);
    }
  }
  return parseHostPort(expectString(address['addr'], `${where}.addr`), `${where}.addr`);
}

function parseEndpoint(value: Json, where: string): HostPort[] {
  if (Array.isArray(value)) return value.map((a, i) => parseAddress(a, `${where}[${i}]`));
  const endpoint = expectObject(value, where);
  for (const key of ['weight', 'attributes']) {
    if (!isEmpty(endpoint[key])) {
      throw new InputError(`${where}.${key}: a grpc-js Endpoint has no ${key} (src/subchannel-address.ts)`);
    }
  }
  return expectList(endpoint['addresses'], `${where}.addresses`).map((a, i) =>
    parseAddress(a, `${where}.addresses[${i}]`),
  );
}

function parseStatus(value: Json | undefined, where: string): WireStatus | null {
  if (value === undefined || value === null) return null;
  const status = expectObject(value, where);
  return {
    code: expectString(status['code'], `${where}.code`),
    message: typeof status['message'] === 'string' ? status['message'] : '',
  };
}

function parseLoadReport(value: Json | undefined, where: string): LoadReport {
  const report = expectObject(value, where);
  const out: LoadReport = {};
  for (const key of ['cpu_utilization', 'application_utilization', 'mem_utilization', 'rps_fractional', 'eps'] as const) {
    if (report[key] !== undefined) out[key] = expectNumber(report[key], `${where}.${key}`);
  }
  return out;
}

/** A protobuf JSON duration ("0.25s") in milliseconds. */
export function parseDurationMillis(text: string, where: string): number {
  const match = /^(\d+)(?:\.(\d{1,9}))?s$/.exec(text);
  if (match === null) throw new InputError(`${where}: not a duration: ${JSON.stringify(text)}`);
  const nanos = Number((match[2] ?? '').padEnd(9, '0'));
  return Number(match[1]) * 1000 + nanos / 1e6;
}

export function parseInput(value: Json | undefined): Input {
  const input = expectObject(value, 'input');
  const type = expectString(input['type'], 'input.type');
  switch (type) {
    case 'resolver_update':
      return {
        type,
        endpoints: expectList(input['endpoints'], 'input.endpoints').map((e, i) =>
          parseEndpoint(e, `input.endpoints[${i}]`),
        ),
        config: input['config'],
        note: typeof input['resolution_note'] === 'string' ? input['resolution_note'] : '',
      };
    case 'resolver_error':
      return { type, message: expectString(input['message'], 'input.message') };
    case 'subchannel_state': {
      const state = expectString(input['state'], 'input.state');
      if (!(STATE_NAMES as readonly string[]).includes(state)) {
        throw new InputError(`input.state: not a connectivity state: ${state}`);
      }
      return {
        type,
        subchannel: input['subchannel'] ?? null,
        state: state as StateName,
        error: parseStatus(input['error'], 'input.error'),
      };
    }
    case 'health_state':
      // No client-side health checking in grpc-js (src/subchannel-interface.ts:
      // isHealthy() of a real Subchannel is always true), so no health_listener capability.
      throw new InputError('grpc-js has no client-side health checking: health_state cannot be delivered');
    case 'exit_idle':
    case 'close':
      return { type };
    case 'pick':
      return { type, pickId: expectInt(input['pick_id'], 'input.pick_id') };
    case 'done': {
      const trailer: { [key: string]: string } = {};
      const raw = input['trailer'];
      if (raw !== undefined && raw !== null) {
        for (const [key, v] of Object.entries(expectObject(raw, 'input.trailer'))) {
          trailer[key] = expectString(v, `input.trailer.${key}`);
        }
      }
      return {
        type,
        pickId: expectInt(input['pick_id'], 'input.pick_id'),
        error: parseStatus(input['error'], 'input.error'),
        trailer,
        loadReport:
          input['load_report'] === undefined || input['load_report'] === null
            ? null
            : parseLoadReport(input['load_report'], 'input.load_report'),
      };
    }
    case 'advance_time':
      return { type, millis: parseDurationMillis(expectString(input['by'], 'input.by'), 'input.by') };
    case 'oob_load_report':
      return {
        type,
        subchannel: input['subchannel'] ?? null,
        report: parseLoadReport(input['report'], 'input.report'),
      };
    default:
      throw new InputError(`input.type: unknown input ${JSON.stringify(type)}`);
  }
}
