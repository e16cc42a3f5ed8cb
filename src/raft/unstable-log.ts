/**
 * Entries (and a received snapshot) the driver has not yet persisted. They stay here, readable by
 * the core, until advance() reports them written; storage is only read below `offset`.
 */
import type { Entry, Snapshot } from "./log-types.ts";

export class UnstableLog {
  snapshot: Snapshot | undefined;
  entries: Entry[] = [];

  /** Index of entries[0] (and one past the snapshot, when there is one). */
  constructor(public offset: number) {}

  lastIndex(): number | undefined {
    if (this.entries.length > 0) return this.offset + this.entries.length - 1;
    return this.snapshot?.meta.index;
  }

  term(index: number): number | undefined {
    if (index < this.offset) {
      return this.snapshot !== undefined && this.snapshot.meta.index === index ? this.snapshot.meta.term : undefined;
    }
    return this.entries[index - this.offset]?.term;
  }

  /** Appends `entries`, first dropping any held entries at or after entries[0].index. */
  truncateAndAppend(entries: Entry[]): void {
    const first = (entries[0] as Entry).index;
    if (first === this.offset + this.entries.length) {
      for (const e of entries) this.entries.push(e);
    } else if (first <= this.offset) {
      this.offset = first;
      this.entries = entries.slice();
    } else {
      this.entries = this.entries.slice(0, first - this.offset).concat(entries);
    }
  }

  /** Entries up to `index` were persisted, if the entry there is still the one of term `term`. */
  stableTo(index: number, term: number): boolean {
    if (index < this.offset || this.term(index) !== term) return false;
    this.entries = this.entries.slice(index + 1 - this.offset);
    this.offset = index + 1;
    return true;
  }

  stableSnapshotTo(index: number): void {
    if (this.snapshot !== undefined && this.snapshot.meta.index === index) this.snapshot = undefined;
  }

  restore(snapshot: Snapshot): void {
    this.snapshot = snapshot;
    this.offset = snapshot.meta.index + 1;
    this.entries = [];
  }

  /** Entries [lo, hi), all of which must be held here. */
  slice(lo: number, hi: number): Entry[] {
    return this.entries.slice(lo - this.offset, hi - this.offset);
  }
}
