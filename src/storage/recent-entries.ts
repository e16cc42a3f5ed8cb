import type { Entry } from "../raft/log-types.ts";

/**
 * The entries appended last, as they were appended, up to a count and a byte budget. Almost every read of the log is
 * of its tail, soon after the write: the leader sending entries to a follower, every node applying what was
 * committed, subscribers reading what was applied. Served from here, such a read copies nothing and checks no
 * checksum again. The count is kept small so that the entry objects cost the garbage collector little (the tail
 * mirror holds bytes for the same reason).
 */
export class RecentEntries {
  /** Slots before `head` are emptied as entries are dropped: a dropped entry must not stay reachable (its data may be megabytes). */
  private list: (Entry | undefined)[] = [];
  /** Position in `list` of the oldest entry held. */
  private head = 0;
  /** Index of list[head]. */
  private first = 0;
  private bytes = 0;

  /**
   * At most `maxEntries` entries and `maxBytes` of their data, except that the last `minEntries` stay up to
   * `largeMaxBytes` (large entries: a loaded broker packs each batch to 1 MiB, and a few of them are what the reads
   * right after an append need); the last entry stays whatever its size.
   */
  constructor(
    private readonly maxEntries: number,
    private readonly maxBytes: number,
    private readonly minEntries = 1,
    private readonly largeMaxBytes = maxBytes,
  ) {}

  /** Entries appended at the end of the log (contiguous with what is held, or the held ones are forgotten). */
  push(entries: readonly Entry[]): void {
    const start = entries[0];
    if (start === undefined) return;
    if (start.index !== this.first + this.list.length - this.head) this.clear(start.index);
    for (const e of entries) {
      this.list.push(e);
      this.bytes += e.data.length;
    }
    for (;;) {
      const held = this.list.length - this.head;
      const over =
        held > this.maxEntries ||
        (held > 1 && this.bytes > this.largeMaxBytes) ||
        (held > this.minEntries && this.bytes > this.maxBytes);
      if (!over) break;
      this.bytes -= (this.list[this.head] as Entry).data.length;
      this.list[this.head] = undefined;
      this.head++;
      this.first++;
    }
    if (this.head >= 1024 && this.head * 2 >= this.list.length) {
      this.list = this.list.slice(this.head);
      this.head = 0;
    }
  }

  /** The log was cut from `index` on. */
  truncateFrom(index: number): void {
    const keep = Math.max(0, index - this.first);
    if (keep >= this.list.length - this.head) return;
    for (let i = this.head + keep; i < this.list.length; i++) this.bytes -= (this.list[i] as Entry).data.length;
    this.list.length = this.head + keep;
  }

  /** Entries held, and the bytes of their data. */
  get size(): { entries: number; bytes: number } {
    return { entries: this.list.length - this.head, bytes: this.bytes };
  }

  clear(next = 0): void {
    this.list = [];
    this.head = 0;
    this.first = next;
    this.bytes = 0;
  }

  /**
   * Entries [lo, hi) if all are held, stopping before the data would exceed `maxBytes` (but with at least one entry),
   * as the log store's reads do; undefined otherwise.
   */
  read(lo: number, hi: number, maxBytes: number): Entry[] | undefined {
    if (lo < this.first || hi > this.first + this.list.length - this.head || lo >= hi) return undefined;
    const out: Entry[] = [];
    let bytes = 0;
    for (let i = lo; i < hi; i++) {
      const e = this.list[this.head + i - this.first] as Entry;
      if (out.length > 0 && bytes + e.data.length > maxBytes) break;
      bytes += e.data.length;
      out.push(e);
    }
    return out;
  }
}
