/**
 * The append messages sent to one follower and not yet acknowledged (a ring buffer of their last indexes and entry
 * bytes). Full at `capacity` messages or at `maxBytes` of entries, so that a follower catching up on a long log is
 * never sent more than its link can queue.
 */
export class Inflights {
  private readonly last: number[];
  private readonly sizes: number[];
  private start = 0;
  private count = 0;
  private inFlightBytes = 0;

  constructor(
    readonly capacity: number,
    readonly maxBytes = Number.POSITIVE_INFINITY,
  ) {
    this.last = new Array<number>(capacity).fill(0);
    this.sizes = new Array<number>(capacity).fill(0);
  }

  get size(): number {
    return this.count;
  }

  get bytes(): number {
    return this.inFlightBytes;
  }

  full(): boolean {
    return this.count === this.capacity || this.inFlightBytes >= this.maxBytes;
  }

  add(lastIndex: number, bytes = 0): void {
    if (this.full()) throw new Error("inflights: add while full");
    const at = (this.start + this.count) % this.capacity;
    this.last[at] = lastIndex;
    this.sizes[at] = bytes;
    this.inFlightBytes += bytes;
    this.count++;
  }

  /** Frees every message whose entries are all at or below `index`. */
  freeLE(index: number): void {
    while (this.count > 0 && (this.last[this.start] ?? 0) <= index) this.freeFirst();
  }

  freeFirst(): void {
    if (this.count === 0) return;
    this.inFlightBytes -= this.sizes[this.start] ?? 0;
    this.start = (this.start + 1) % this.capacity;
    this.count--;
  }

  reset(): void {
    this.start = 0;
    this.count = 0;
    this.inFlightBytes = 0;
  }
}
