/**
 * The time a leader stamps on the commands it proposes. The state machine's time drives age
 * retention and the dedup window's idle expiry on every replica, so one leader's wrong wall clock
 * must not move it far: a leader three minutes fast would make every producer look idle, two hours
 * fast under a one-hour retention would drop every message. So a leader stamps the latest time in its
 * log (applied or not) when it took over plus the time it has measured since on its monotonic clock, and lets its
 * wall clock pull that by at most MAX_CORRECTION_MS per term (so the cluster's time follows real
 * time across many leaders without trusting any one of them). A wall clock further off than
 * WARN_SKEW_MS is reported once per term.
 */

export const MAX_CORRECTION_MS = 1_000;
export const WARN_SKEW_MS = 10_000;

export interface CommandClockSources {
  /** The wall clock (Date.now). */
  wall(): number;
  /** A monotonic clock in ms (performance.now). */
  monotonic(): number;
  /** The current term while this node leads; the anchor is taken again in each new term. */
  term(): number;
  /** The state machine's time: the latest command time applied. */
  stateTime(): number;
  /**
   * The latest command time in this node's log past what it applied (0 if none). A new leader may not have applied
   * its log yet (a restarted one applies only once it commits in its own term): its log holds the cluster's time.
   */
  logTime(): number;
  warn(message: string): void;
}

export class CommandClock {
  private anchorTerm = -1;
  private anchorTime = 0;
  private anchorMonotonic = 0;
  private warnedTerm = -1;

  constructor(private readonly sources: CommandClockSources) {}

  /** The time to stamp on a command proposed now. */
  readonly now = (): number => {
    const s = this.sources;
    const term = s.term();
    if (term !== this.anchorTerm) {
      this.anchorTerm = term;
      // a log that holds no command (time 0) has nothing to anchor to but the wall clock
      const known = Math.max(s.stateTime(), s.logTime());
      this.anchorTime = known > 0 ? known : s.wall();
      this.anchorMonotonic = s.monotonic();
    }
    const measured = this.anchorTime + Math.max(0, s.monotonic() - this.anchorMonotonic);
    const wall = s.wall();
    const skew = wall - measured;
    if (Math.abs(skew) > WARN_SKEW_MS && this.warnedTerm !== term) {
      this.warnedTerm = term;
      s.warn(
        `This broker's clock is ${Math.round(Math.abs(skew) / 1000)} s ${skew > 0 ? "ahead of" : "behind"} the cluster's time; commands are stamped with the cluster's time (retention and dedup follow it)`,
      );
    }
    const stamp = measured + Math.max(-MAX_CORRECTION_MS, Math.min(MAX_CORRECTION_MS, skew));
    return Math.round(stamp);
  };
}
