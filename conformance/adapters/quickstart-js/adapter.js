#!/usr/bin/env node
// A quick-start adapter (conformance/PROTOCOL.md, protocol v1): a toy pick_first in plain
// Node, no dependencies. It is a template to copy, not an implementation to trust: it
// passes the first pick_first cases (see README.md) and nothing more.
"use strict";
const readline = require("node:readline");

function send(message) {
  process.stdout.write(JSON.stringify(message) + "\n");
}

// Real time: advance_time really waits (synchronously, so replies stay in order).
function sleep(seconds) {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, seconds * 1000);
}

// The channel for one case: the toy policy plus the outputs of the current step.
class PickFirst {
  constructor() {
    this.out = [];
    this.addresses = []; // the resolver's addresses, flattened in order
    this.subchannels = new Map(); // handle -> address
    this.attempt = -1; // index in addresses of the address being tried
    this.nextHandle = 1;
    this.picker = { kind: "queue" };
    this.state = null;
  }
  report(state, picker) {
    if (state !== this.state) this.out.push({ type: "update_state", state });
    this.state = state;
    this.picker = picker;
  }
  shutdownAll(except) {
    for (const handle of this.subchannels.keys()) {
      if (handle !== except) {
        this.out.push({ type: "shutdown", subchannel: handle });
        this.subchannels.delete(handle);
      }
    }
  }
  connectTo(index) {
    this.attempt = index;
    const handle = this.nextHandle++;
    this.subchannels.set(handle, this.addresses[index]);
    this.out.push({ type: "new_subchannel", subchannel: handle, addresses: [this.addresses[index]] });
    this.out.push({ type: "connect", subchannel: handle });
    this.current = handle;
  }
  resolverUpdate(endpoints) {
    const flat = [];
    for (const e of endpoints) {
      for (const a of Array.isArray(e) ? e : e.addresses) flat.push(typeof a === "string" ? a : a.addr);
    }
    this.shutdownAll();
    this.addresses = flat;
    if (flat.length === 0) {
      this.out.push({ type: "update_rejected", reason: "the update has no addresses" });
      this.report("TRANSIENT_FAILURE", { kind: "fail", message: "no addresses" });
      return;
    }
    this.report("CONNECTING", { kind: "queue" });
    this.connectTo(0);
  }
  subchannelState(handle, state, error) {
    if (handle !== this.current) return; // an attempt this toy already gave up
    if (state === "READY") {
      this.shutdownAll(handle);
      this.report("READY", { kind: "complete", subchannel: handle });
    } else if (state === "TRANSIENT_FAILURE") {
      if (this.attempt + 1 < this.addresses.length) {
        this.connectTo(this.attempt + 1);
      } else {
        this.out.push({ type: "request_reresolution" });
        this.report("TRANSIENT_FAILURE", { kind: "fail", message: error ? error.message : "" });
      }
    }
  }
  pick(pickId) {
    const p = this.picker;
    if (p.kind === "complete") return { type: "pick_complete", pick_id: pickId, subchannel: p.subchannel };
    if (p.kind === "fail") {
      return { type: "pick_fail", pick_id: pickId, status: { code: "UNAVAILABLE", message: p.message } };
    }
    return { type: "pick_queue", pick_id: pickId };
  }
  step(input) {
    switch (input.type) {
      case "resolver_update": this.resolverUpdate(input.endpoints); break;
      case "subchannel_state": this.subchannelState(input.subchannel, input.state, input.error); break;
      case "pick": this.out.push(this.pick(input.pick_id)); break;
      case "close": this.shutdownAll(); break;
      case "advance_time": sleep(parseFloat(input.by)); break;
      case "done": break; // completions change nothing in pick_first
      default: throw new Error(`this toy cannot take a ${input.type} input`);
    }
    const outputs = this.out;
    this.out = [];
    return outputs;
  }
}

let channel = null;
const lines = readline.createInterface({ input: process.stdin, terminal: false });
lines.on("line", (line) => {
  if (!line.trim()) return;
  const message = JSON.parse(line);
  try {
    switch (message.type) {
      case "start":
        send({
          type: "started",
          protocol: 1,
          implementation: { name: "quickstart-js", version: "0.1.0", language: "javascript" },
          capabilities: {
            policies: ["pick_first"],
            time: "real",
            // One subchannel per address: the leaf pick_first (spec/options.py, pick_first.variant).
            spec_options: { "pick_first.variant": "leaf" },
          },
        });
        break;
      case "begin":
        if (message.policy !== "pick_first") throw new Error(`no policy ${message.policy}`);
        channel = new PickFirst();
        send({ type: "begun" });
        break;
      case "step":
        send({ type: "outputs", seq: message.seq, outputs: channel.step(message.input) });
        break;
      case "end":
        channel = null;
        send({ type: "ended" });
        break;
      case "stop":
        process.exit(0);
    }
  } catch (err) {
    console.error(err.stack);
    send({ type: "error", message: String(err.message), seq: message.seq });
  }
});
