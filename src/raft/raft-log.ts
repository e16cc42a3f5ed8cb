/**
 * The log as the core sees it: persisted entries through the LogReader, then the unstable tail.
 * Also tracks the commit and applied indexes.
 */
import { assert } from "../util/assert.ts";
import { MqraftError } from "../util/errors.ts";
import { limitBytes } from "./entry-size.ts";
import type { Entry, LogReader, Snapshot } from "./log-types.ts";
import { UnstableLog } from "./unstable-log.ts";

export class RaftLog {
  readonly unstable: UnstableLog;
  committed: number;
  applied: number;

  constructor(
    readonly storage: LogReader,
    committed: number,
    applied: number,
  ) {
    this.unstable = new UnstableLog(storage.lastIndex() + 1);
    // The state machine applied what a snapshot holds, which was committed: the driver saves the commit index
    // less often than snapshots are taken (docs/storage.md, "The commit index"), so it may be below.
    this.committed = applied > committed ? applied : committed;
    if (this.committed > this.lastIndex())
      throw corrupt(`commit index ${this.committed} is beyond last index ${this.lastIndex()}`);
    this.applied = applied;
  }

  firstIndex(): number {
    const s = this.unstable.snapshot;
    return s !== undefined ? s.meta.index + 1 : this.storage.firstIndex();
  }

  lastIndex(): number {
    return this.unstable.lastIndex() ?? this.storage.lastIndex();
  }

  lastTerm(): number {
    return this.term(this.lastIndex()) ?? 0;
  }

  /** Term of the entry at `index`, for firstIndex()-1 ..= lastIndex(); undefined outside. */
  term(index: number): number | undefined {
    if (index < this.firstIndex() - 1 || index > this.lastIndex()) return undefined;
    if (index >= this.unstable.offset || this.unstable.snapshot !== undefined) return this.unstable.term(index);
    return this.storage.term(index);
  }

  /** The last index the driver reported written (advance), or 0 while a received snapshot is unwritten. */
  persistedLastIndex(): number {
    if (this.unstable.snapshot !== undefined) return 0;
    return this.unstable.entries.length > 0 ? this.unstable.offset - 1 : this.lastIndex();
  }

  matchTerm(index: number, term: number): boolean {
    return this.term(index) === term;
  }

  /** Entries [lo, hi) up to about maxBytes; lo must be at least firstIndex(). */
  entries(lo: number, hi: number, maxBytes: number): Entry[] {
    if (lo >= hi) return [];
    if (lo < this.firstIndex()) throw new Error(`raft log: entry ${lo} is compacted (first ${this.firstIndex()})`);
    const offset = this.unstable.offset;
    if (hi <= offset) return this.storage.entries(lo, hi, maxBytes);
    if (lo >= offset) return limitBytes(this.unstable.slice(lo, hi), maxBytes);
    const stored = this.storage.entries(lo, offset, maxBytes);
    if (stored.length < offset - lo) return stored;
    return limitBytes(stored.concat(this.unstable.slice(offset, hi)), maxBytes);
  }

  /** A candidate's log (lastIndex, lastTerm) is at least as up to date as this one (§5.4.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    const myTerm = this.lastTerm();
    return lastTerm > myTerm || (lastTerm === myTerm && lastIndex >= this.lastIndex());
  }

  /**
   * Appends the leader's `entries` that follow (`index`, `logTerm`) when that entry matches, cutting
   * off a conflicting tail; returns the index of the last new entry, or undefined on mismatch.
   */
  maybeAppend(index: number, logTerm: number, commit: number, entries: Entry[]): number | undefined {
    if (!this.matchTerm(index, logTerm)) return undefined;
    const lastNew = index + entries.length;
    const conflict = this.findConflict(entries);
    if (conflict !== 0) {
      if (conflict <= this.committed) {
        throw corrupt(`entry ${conflict} conflicts with the committed log (commit ${this.committed})`);
      }
      this.append(entries.slice(conflict - (index + 1)));
    }
    this.commitTo(Math.min(commit, lastNew));
    return lastNew;
  }

  append(entries: Entry[]): void {
    if (entries.length === 0) return;
    const first = (entries[0] as Entry).index;
    if (first <= this.committed) throw corrupt(`appending at ${first} would overwrite committed ${this.committed}`);
    this.unstable.truncateAndAppend(entries);
  }

  /** Index of the first of `entries` that is missing or of another term here; 0 when all match. */
  private findConflict(entries: Entry[]): number {
    for (const e of entries) {
      if (!this.matchTerm(e.index, e.term)) return e.index;
    }
    return 0;
  }

  /**
   * The last index at or below `index` whose term is at most `term` (and that term): where a
   * leader whose entry at `index` has term `term` can next probe. Compacted entries end the walk.
   */
  findConflictByTerm(index: number, term: number): [number, number] {
    for (let i = index; i > 0; i--) {
      const t = this.term(i);
      if (t === undefined) return [i, 0];
      if (t <= term) return [i, t];
    }
    return [0, 0];
  }

  commitTo(index: number): void {
    if (index <= this.committed) return;
    if (index > this.lastIndex()) throw corrupt(`commit index ${index} is beyond last index ${this.lastIndex()}`);
    this.committed = index;
  }

  hasNextCommitted(): boolean {
    return this.committed > this.applied && this.unstable.snapshot === undefined;
  }

  nextCommitted(maxBytes: number): Entry[] {
    if (!this.hasNextCommitted()) return [];
    const lo = Math.max(this.applied + 1, this.firstIndex());
    return this.entries(lo, this.committed + 1, maxBytes);
  }

  restore(snapshot: Snapshot): void {
    // Commit never falls: a snapshot is adopted only past the commit index (step-follower.ts).
    assert(
      snapshot.meta.index > this.committed,
      () => `snapshot at ${snapshot.meta.index} under commit ${this.committed}`,
    );
    this.committed = snapshot.meta.index;
    this.unstable.restore(snapshot);
  }
}

function corrupt(why: string): MqraftError {
  return new MqraftError("CORRUPT", `raft log: ${why}`);
}
