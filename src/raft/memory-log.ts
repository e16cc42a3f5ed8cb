/** An in-memory LogReader with the writes a driver makes, for tests and the simulator. */
import { MqraftError } from "../util/errors.ts";
import { limitBytes } from "./entry-size.ts";
import type { Entry, LogReader, Snapshot } from "./log-types.ts";

export class MemoryLog implements LogReader {
  private held: Entry[] = [];
  /** Index of held[0]. */
  private offset = 1;
  /** Term of the entry at offset - 1 (the last compacted one). */
  private baseTerm = 0;
  private snap: Snapshot | undefined;

  firstIndex(): number {
    return this.offset;
  }

  lastIndex(): number {
    return this.offset + this.held.length - 1;
  }

  term(index: number): number | undefined {
    if (index === this.offset - 1) return this.baseTerm;
    return this.held[index - this.offset]?.term;
  }

  entries(lo: number, hi: number, maxBytes = Number.POSITIVE_INFINITY): Entry[] {
    if (lo < this.offset || hi > this.lastIndex() + 1) {
      throw new MqraftError("BAD_USAGE", `entries [${lo}, ${hi}) outside [${this.offset}, ${this.lastIndex() + 1})`);
    }
    return limitBytes(this.held.slice(lo - this.offset, hi - this.offset), maxBytes);
  }

  snapshot(): Snapshot | undefined {
    return this.snap;
  }

  /** Writes `entries` (consecutive), discarding any held entries at or after the first one's index. */
  append(entries: readonly Entry[]): void {
    const first = entries[0];
    if (first === undefined) return;
    if (first.index < this.offset || first.index > this.lastIndex() + 1) {
      throw new MqraftError("BAD_USAGE", `append at ${first.index} outside [${this.offset}, ${this.lastIndex() + 1}]`);
    }
    this.held.length = first.index - this.offset;
    for (const e of entries) this.held.push(e);
  }

  /** Drops entries at and after `index`. */
  truncate(index: number): void {
    if (index < this.offset)
      throw new MqraftError("BAD_USAGE", `truncate at ${index} below first index ${this.offset}`);
    if (index <= this.lastIndex()) this.held.length = index - this.offset;
  }

  /** Drops entries up to and including `index`, which the saved snapshot must cover. */
  compact(index: number): void {
    if (index < this.offset) return;
    const covered = this.snap?.meta.index ?? 0;
    if (index > covered || index > this.lastIndex()) {
      throw new MqraftError(
        "BAD_USAGE",
        `compact to ${index} beyond snapshot ${covered} or last index ${this.lastIndex()}`,
      );
    }
    this.baseTerm = this.term(index) ?? this.baseTerm;
    this.held = this.held.slice(index + 1 - this.offset);
    this.offset = index + 1;
  }

  /** Records a snapshot the application took of its own state; the log is kept. */
  saveSnapshot(snapshot: Snapshot): void {
    const current = this.snap?.meta.index ?? 0;
    if (snapshot.meta.index < current) {
      throw new MqraftError(
        "BAD_USAGE",
        `snapshot at ${snapshot.meta.index} is older than the saved one at ${current}`,
      );
    }
    this.snap = snapshot;
  }

  /** Installs a snapshot received from the leader: the whole log is replaced by it. */
  applySnapshot(snapshot: Snapshot): void {
    this.snap = snapshot;
    this.held = [];
    this.offset = snapshot.meta.index + 1;
    this.baseTerm = snapshot.meta.term;
  }
}
