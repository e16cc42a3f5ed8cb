import type { Entry } from "../raft/log-types.ts";

/**
 * The most recent entries, kept in memory up to a byte budget, because followers and subscribers
 * mostly read the tail of the log. Holds a contiguous range that ends at the log's last index, or
 * nothing.
 */
export class TailCache {
  /** Slots before `start` were evicted; they are cut off the array once they are the larger part. */
  private items: (Entry | undefined)[] = [];
  private start = 0;
  private bytes = 0;

  constructor(private readonly maxBytes: number) {}

  /** Index of the first cached entry, or undefined when empty. */
  firstIndex(): number | undefined {
    return this.items[this.start]?.index;
  }

  get(index: number): Entry | undefined {
    const first = this.firstIndex();
    if (first === undefined || index < first) return undefined;
    return this.items[this.start + index - first];
  }

  /** Adds the entry that follows the last cached one (any entry when empty). */
  push(e: Entry): void {
    this.items.push(e);
    this.bytes += e.data.length;
    while (this.bytes > this.maxBytes && this.start < this.items.length) this.evictFirst();
    if (this.start > 1024 && this.start * 2 > this.items.length) {
      this.items = this.items.slice(this.start);
      this.start = 0;
    }
  }

  truncateFrom(index: number): void {
    const first = this.firstIndex();
    if (first === undefined) return;
    const keep = Math.max(this.start, this.start + index - first);
    for (let i = keep; i < this.items.length; i++) this.bytes -= this.items[i]?.data.length ?? 0;
    this.items.length = keep;
    if (keep === this.start) this.clear();
  }

  dropBefore(index: number): void {
    for (let first = this.firstIndex(); first !== undefined && first < index; first = this.firstIndex()) this.evictFirst();
  }

  clear(): void {
    this.items = [];
    this.start = 0;
    this.bytes = 0;
  }

  private evictFirst(): void {
    this.bytes -= this.items[this.start]?.data.length ?? 0;
    this.items[this.start] = undefined;
    this.start++;
    if (this.start === this.items.length) this.clear();
  }
}
