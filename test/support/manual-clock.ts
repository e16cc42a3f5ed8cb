/**
 * A Clock (src/node/clock.ts) that moves only when a test moves it, and a Logger that prints nothing: what the unit
 * tests of the node's timed duties (membership, removal) share, so that they observe a number of timeouts instead of
 * waiting for them.
 */
import type { Clock } from "../../src/node/clock.ts";
import type { Logger } from "../../src/util/log.ts";

export const quietLogger: Logger = {
  error() {},
  warn() {},
  info() {},
  debug() {},
  trace() {},
  enabled: () => false,
};

export interface ManualClock {
  readonly clock: Clock;
  /** The clock's time in ms. */
  now(): number;
  /** Moves time by `ms` at once and runs what fell due, earliest first. */
  step(ms: number): void;
  /** Moves time by `ms` in steps of `stepMs`, running what falls due and letting promises settle after each step. */
  advance(ms: number, stepMs?: number): Promise<void>;
}

export function manualClock(): ManualClock {
  let now = 0;
  let timers: { at: number; fn: () => void }[] = [];
  const runDue = () => {
    const due = timers.filter((t) => t.at <= now).sort((a, b) => a.at - b.at);
    timers = timers.filter((t) => t.at > now);
    for (const t of due) t.fn();
  };
  const clock: Clock = {
    now: () => now,
    after: (ms, fn) => {
      timers.push({ at: now + ms, fn });
      return () => {};
    },
    every: () => () => {},
  };
  return {
    clock,
    now: () => now,
    step(ms) {
      now += ms;
      runDue();
    },
    async advance(ms, stepMs = 10) {
      for (const end = now + ms; now < end; ) {
        now += stepMs;
        runDue();
        await Promise.resolve();
        await Promise.resolve();
      }
    },
  };
}
