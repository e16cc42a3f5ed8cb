import { describeError, MqraftError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import { AlarmBudget, alarmBudgetBytes } from "./alarm-budget.ts";
import { defaultMinFreeBytes, type FreeSpace, type FreeSpaceProbe, humanBytes } from "./free-space.ts";

/**
 * The disk alarm of one broker (docs/disk-full.md): raised when the data folder's file system has less free space
 * than the minimum, cleared by itself once it has the minimum plus a margin again (so that a disk hovering at the
 * line does not flap the alarm and the log). While it is raised the leader refuses publishes with DISK_FULL; every
 * other request, and Raft traffic, go on. Each transition is logged once.
 */
export class DiskAlarm {
  raised = false;
  /**
   * A write failed with ENOSPC during this alarm: the broker takes no more entries from its leader until the alarm
   * clears (broker-assembly.ts drops appends and snapshot chunks), so that it does not reopen its store at every one.
   */
  full = false;
  /** What the last check read; undefined until one succeeded. */
  space: FreeSpace | undefined;
  private probeFailed = false;
  /** What commands other than publishes may still add to the log while the alarm is raised. */
  private readonly budget = new AlarmBudget(() => alarmBudgetBytes(this.minFreeBytes));
  /** Commands other than publishes refused because the budget was used up (/metrics). */
  refusedCommands = 0;

  constructor(
    private readonly probe: FreeSpaceProbe,
    /** --min-free-space; undefined: the default for the file system's size. */
    private readonly minFree: number | undefined,
    /** Names this broker in the refusal ("broker 2 (127.0.0.1:8001)"). */
    private readonly who: () => string,
    private readonly dataDir: string,
    private readonly log: Logger,
  ) {}

  /** The minimum in force (bytes); 0 before the first check when it depends on the file system's size. */
  get minFreeBytes(): number {
    return this.minFree ?? (this.space === undefined ? 0 : defaultMinFreeBytes(this.space.totalBytes));
  }

  /** Reads the free space and raises or clears the alarm. A probe that fails keeps the alarm as it was. */
  check(): void {
    let space: FreeSpace;
    try {
      space = this.probe();
    } catch (e) {
      if (!this.probeFailed) this.log.warn(`Cannot read the free space of ${this.dataDir}: ${describeError(e)}`);
      this.probeFailed = true;
      return;
    }
    this.probeFailed = false;
    this.space = space;
    const min = this.minFreeBytes;
    if (!this.raised && space.freeBytes < min) {
      this.raised = true;
      this.budget.refill();
      this.log.warn(
        `Disk alarm raised: ${humanBytes(space.freeBytes)} free in ${this.dataDir}, below the minimum of ${humanBytes(min)} (--min-free-space): publishes are refused until space is freed (retention, mqraft topic purge, a larger disk)`,
      );
    } else if (this.raised && space.freeBytes >= min + clearMargin(min)) {
      this.raised = false;
      this.full = false;
      this.log.info(`Disk alarm cleared: ${humanBytes(space.freeBytes)} free in ${this.dataDir}; publishing resumes`);
    }
  }

  /**
   * A write failed with ENOSPC (the reserve was too small, or another process filled the disk): the alarm is raised
   * whatever the last check read, and stays until the free space is above the minimum plus its margin again.
   */
  noSpace(): void {
    if (!this.full)
      this.log.warn(
        `The disk of ${this.dataDir} is full (ENOSPC): this broker reopens its data folder at its last durable state and takes no entries from the leader until space is freed (retention, mqraft topic purge, a larger disk)`,
      );
    this.full = true;
    if (this.raised) return;
    this.raised = true;
    this.budget.refill();
  }

  /** The error a publish is refused with while the alarm is raised; undefined when it is not. */
  refusal(): MqraftError | undefined {
    if (!this.raised) return undefined;
    return new MqraftError("DISK_FULL", `${this.shortOfSpace()}: publishing is refused until space is freed`);
  }

  /**
   * Whether a command other than a publish, `bytes` long once encoded, may be proposed: always without the alarm,
   * under it while the alarm's budget lasts (alarm-budget.ts). Undefined: admitted (and counted); else the error.
   */
  admit(type: string, bytes: number): MqraftError | undefined {
    if (!this.raised || this.budget.take(type, bytes)) return undefined;
    this.refusedCommands++;
    const { commands, bytes: used } = this.budget.used;
    return new MqraftError(
      "DISK_FULL",
      `${this.shortOfSpace()}: the ${commands} commands (${humanBytes(used)}) allowed under the disk alarm are used up; until space is freed only purges, retention changes and durable subscription removals are taken`,
    );
  }

  private shortOfSpace(): string {
    const free = this.space === undefined ? "too little" : humanBytes(this.space.freeBytes);
    return `${this.who()} has ${free} free in ${this.dataDir}, below its minimum of ${humanBytes(this.minFreeBytes)}`;
  }
}

/** The alarm clears only this far above the minimum: 5 % of it, at least 1 MiB. */
function clearMargin(min: number): number {
  return Math.max(1024 * 1024, Math.floor(min / 20));
}
