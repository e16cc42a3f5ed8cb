import { assert } from "../util/assert.ts";

/**
 * Large output buffers kept for the next large batches, shared by every connection of the process, within a count and
 * a byte budget. Filling a new megabyte buffer costs more than copying into one already touched (a leader queues
 * megabytes of appends to each follower in every turn), so buffers the sockets have taken whole come back here. Kept
 * by each connection instead, a connection that fell silent after a large batch (a subscriber that has read
 * everything) held its buffers for as long as it stayed open, and a broker's memory at rest depended on which of its
 * connections happened to send large batches last (docs/memory.md).
 *
 * A buffer the pool lets go (not kept, or kept and then unused) is freed at once rather than left to the collector:
 * kept buffers have outlived young collections, so only a full collection would free them, and at rest that can come
 * half a minute or more after the pool let them go (13 to 16 MiB left on a broker pushing to subscribers).
 */
export class OutputBufferPool {
  private readonly kept: Uint8Array[] = [];
  private keptBytes = 0;
  /** A buffer was given or taken since the last look of `idleCheck`. */
  private used = false;
  private idleTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly idleCheck = (): void => {
    this.idleTimer = undefined;
    if (this.used) {
      this.used = false;
      if (this.kept.length > 0) this.watchIdle();
      return;
    }
    for (const buffer of this.kept) free(buffer.buffer as ArrayBuffer);
    this.kept.length = 0;
    this.keptBytes = 0;
  };

  /**
   * At most `maxBuffers` buffers and `maxBytes` of them; only buffers of `minBufferBytes` to `maxBufferBytes` are
   * worth keeping (smaller ones are cheap to allocate, larger ones were grown by a rare batch). Buffers neither given
   * nor taken for `idleMs` to twice that are let go: large batches come in runs, and a broker at rest has no use for
   * them.
   */
  constructor(
    readonly maxBuffers: number,
    readonly maxBytes: number,
    readonly minBufferBytes: number,
    readonly maxBufferBytes: number,
    private readonly idleMs = 1000,
  ) {}

  /**
   * A buffer nobody uses any more (no view of it is read or written after this): kept if it is worth it and fits,
   * else freed now.
   */
  give(buffer: ArrayBuffer): void {
    const size = buffer.byteLength;
    if (size < this.minBufferBytes || size > this.maxBufferBytes) return free(buffer);
    if (this.kept.length >= this.maxBuffers || this.keptBytes + size > this.maxBytes) return free(buffer);
    // two queues writing into one buffer would interleave their frames: a buffer is given back once per take
    assert(
      this.kept.every((b) => b.buffer !== buffer),
      "an output buffer was given back to the pool twice",
    );
    this.kept.push(new Uint8Array(buffer));
    this.keptBytes += size;
    this.touch();
  }

  /** A kept buffer, now the caller's alone; undefined when none is kept. */
  take(): Uint8Array | undefined {
    const buffer = this.kept.pop();
    if (buffer !== undefined) {
      this.keptBytes -= buffer.byteLength;
      this.touch();
    }
    return buffer;
  }

  private touch(): void {
    this.used = true;
    if (this.idleTimer === undefined) this.watchIdle();
  }

  /** One timer at most, and none while nothing is kept: an idle process is not woken up for an empty pool. */
  private watchIdle(): void {
    this.idleTimer = setTimeout(this.idleCheck, this.idleMs);
    // a pending check must not keep a process alive that has nothing else to do
    this.idleTimer.unref?.();
  }

  /** Buffers kept, and their bytes (for /metrics). */
  get use(): { buffers: number; bytes: number } {
    return { buffers: this.kept.length, bytes: this.keptBytes };
  }
}

/** The client library also runs on Node 20, whose ArrayBuffer has no `transfer`: there the collector frees buffers. */
const CAN_TRANSFER = typeof ArrayBuffer.prototype.transfer === "function";

/**
 * Hands a buffer's memory back now: transferring it leaves it detached (every view of it empty) and its old memory
 * unowned, which JavaScriptCore frees at once; a collection would free it only once it finds the buffer dead.
 */
function free(buffer: ArrayBuffer): void {
  if (CAN_TRANSFER && !buffer.detached) buffer.transfer(0);
}
