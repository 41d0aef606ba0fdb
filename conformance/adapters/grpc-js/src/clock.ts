// Virtual time and seeded randomness for grpc-js's policies.
//
// Every timer grpc-js's policies use is a global setTimeout / setInterval
// (pick_first's 250 ms Happy Eyeballs delay, src/load-balancer-pick-first.ts:415;
// weighted_round_robin's weight update ticker, src/load-balancer-weighted-round-robin.ts:459),
// and weighted_round_robin reads the time with `new Date()` (lines 274, 286, 395).
// Faking exactly those globals gives exact virtual time. process.nextTick and
// setImmediate stay real: grpc-js defers work with process.nextTick
// (src/subchannel.ts:465, src/picker.ts:140), and the adapter waits for quiet
// by hopping through the real event loop (channel.ts, `settle`).
//
// This module must be imported before anything else reads the clock.
import * as FakeTimers from '@sinonjs/fake-timers';

export const clock = FakeTimers.install({
  toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'],
  now: 0,
});

/** Drops every pending timer and sets the clock back to 0 (a fresh case). */
export function resetClock(): void {
  clock.reset();
}

/**
 * Seeds Math.random, the only random source grpc-js's policies use: pick_first's
 * shuffle (src/load-balancer-pick-first.ts:126), round_robin's start index
 * (src/load-balancer-round-robin.ts:235) and weighted_round_robin's first
 * deadlines (src/load-balancer-weighted-round-robin.ts:201).
 * mulberry32: a small, well-known 32-bit generator; any fixed one would do.
 */
export function seedRandom(seed: number): void {
  let state = seed | 0;
  Math.random = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
