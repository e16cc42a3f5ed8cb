import { assert } from "../util/assert.ts";

/**
 * Large output buffers kept for the next large batches, shared by every connection of the process, within a count and
 * a byte budget. Filling a new megabyte buffer costs more than copying into one already touched (a leader queues
 * megabytes of appends to each follower in every turn), so buffers the sockets have taken whole come back here. Kept
 * by each connection instead, a connection that fell silent after a large batch (a subscriber that has read
 * everything) held its buffers for as long as it stayed open, and a broker's memory at rest depended on which of its
 * connections happened to send large batches last (docs/memory.md).
 */
export class OutputBufferPool {
  private readonly kept: Uint8Array[] = [];
  private keptBytes = 0;

  /**
   * At most `maxBuffers` buffers and `maxBytes` of them; only buffers of `minBufferBytes` to `maxBufferBytes` are
   * worth keeping (smaller ones are cheap to allocate, larger ones were grown by a rare batch).
   */
  constructor(
    readonly maxBuffers: number,
    readonly maxBytes: number,
    readonly minBufferBytes: number,
    readonly maxBufferBytes: number,
  ) {}

  /** A buffer nobody uses any more: kept if it is worth it and fits, else left to the collector. */
  give(buffer: ArrayBuffer): void {
    const size = buffer.byteLength;
    if (size < this.minBufferBytes || size > this.maxBufferBytes) return;
    if (this.kept.length >= this.maxBuffers || this.keptBytes + size > this.maxBytes) return;
    // two queues writing into one buffer would interleave their frames: a buffer is given back once per take
    assert(
      this.kept.every((b) => b.buffer !== buffer),
      "an output buffer was given back to the pool twice",
    );
    this.kept.push(new Uint8Array(buffer));
    this.keptBytes += size;
  }

  /** A kept buffer, now the caller's alone; undefined when none is kept. */
  take(): Uint8Array | undefined {
    const buffer = this.kept.pop();
    if (buffer !== undefined) this.keptBytes -= buffer.byteLength;
    return buffer;
  }

  /** Buffers kept, and their bytes (for /metrics). */
  get use(): { buffers: number; bytes: number } {
    return { buffers: this.kept.length, bytes: this.keptBytes };
  }
}
