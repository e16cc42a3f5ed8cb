import type { Command } from "../broker/commands.ts";
import type { ApplyResult } from "../broker/results.ts";
import type { BrokerState } from "../broker/state-machine.ts";

/** Command time without a committed command before the leader moves the time by itself. */
export const TICK_IDLE_MS = 1000;

export interface TimeTickerHost {
  state(): BrokerState;
  /** Command time, as the leader stamps it. */
  now(): number;
  isLeader(): boolean;
  propose(command: Command): Promise<ApplyResult>;
}

/**
 * The state machine's time moves only with committed commands, so on an idle cluster a message's TTL or the age
 * limit would never run out. As leader, at every heartbeat: once nothing has been committed for TICK_IDLE_MS and a
 * retained message expires or ages out by now, propose a `tick` (docs/state-machine.md, "Time"), so every replica
 * drops the same messages at the same entry. Nothing is proposed while no message can expire, and at most one tick
 * is in flight (one left unanswered for TICK_IDLE_MS is proposed again).
 */
export class TimeTicker {
  /** Command time of the tick in flight (0: none). */
  private inFlightAt = 0;

  constructor(private readonly host: TimeTickerHost) {}

  tick(): void {
    if (!this.host.isLeader()) return;
    const now = this.host.now();
    if (this.inFlightAt !== 0 && now - this.inFlightAt < TICK_IDLE_MS) return;
    const state = this.host.state();
    if (now - state.time < TICK_IDLE_MS || state.nextTimeChange() > now) return;
    this.inFlightAt = now;
    this.host
      .propose({ type: "tick", time: now })
      .catch(() => {})
      .finally(() => {
        if (this.inFlightAt === now) this.inFlightAt = 0;
      });
  }
}
