import type { Command } from "../broker/commands.ts";

/**
 * Commands that free space or decide how much is kept (a purge, a retention change, the removal of a durable
 * subscription that may pin old messages): the way out of a full disk, so they may use the whole budget.
 */
const FREEING: ReadonlySet<string> = new Set<Command["type"]>(["purge", "config", "unsubscribe"]);

/** Other commands (acks, durable subscriptions, producer registrations, ...) stop at this share of the budget. */
const ORDINARY_SHARE = 0.9;

/** At most this many commands per alarm, whatever their size. */
export const ALARM_BUDGET_COMMANDS = 10_000;

/** At most this many bytes of commands per alarm: a sixteenth of the minimum, at most 16 MiB. */
export function alarmBudgetBytes(minFreeBytes: number): number {
  return Math.min(16 * 1024 * 1024, Math.floor(minFreeBytes / 16));
}

/**
 * What a leader under the disk alarm may still add to the log (docs/disk-full.md, "What is refused"): publishes are
 * refused outright, every other command takes from this budget, by count and bytes, so that no client
 * can eat the reserve with acks or subscriptions. Space-freeing commands keep the last tenth for themselves. The
 * budget is per alarm: it starts full each time the alarm is raised.
 */
export class AlarmBudget {
  private commands = 0;
  private bytes = 0;

  constructor(private readonly maxBytes: () => number) {}

  /** Takes `bytes` for a command of `type`; false when it does not fit (nothing is taken then). */
  take(type: string, bytes: number): boolean {
    const share = FREEING.has(type) ? 1 : ORDINARY_SHARE;
    if (this.commands + 1 > ALARM_BUDGET_COMMANDS * share || this.bytes + bytes > this.maxBytes() * share) return false;
    this.commands++;
    this.bytes += bytes;
    return true;
  }

  /** A new alarm starts with the whole budget. */
  refill(): void {
    this.commands = 0;
    this.bytes = 0;
  }

  /** What this alarm has let through so far. */
  get used(): { commands: number; bytes: number } {
    return { commands: this.commands, bytes: this.bytes };
  }
}
