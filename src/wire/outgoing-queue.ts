import { FrameBatch } from "./frame-encoder.ts";
import { OutputBufferPool } from "./output-buffer-pool.ts";

/** Where the queue writes: a socket's `write`, which may take fewer bytes than given and returns -1 once closed. */
export interface ByteSink {
  write(bytes: Uint8Array): number;
}

/**
 * A batch this large is set aside as a chunk and the next frames go into another buffer. A leader queues megabytes of
 * appends for a follower in one turn: in one growing buffer, every batch regrew it (copying it each time) and
 * allocated fresh memory, which was most of a leader's time with 1 KiB messages.
 */
const CHUNK_BYTES = 1 << 20;
/** A chunk's buffer is used again for the next batch once the socket has taken it all, up to this size. */
const MAX_RECYCLED_BYTES = 4 << 20;
/** After a large batch a queue takes a kept buffer for each next batch, until this many small batches in a row. */
const KEEP_AFTER_LARGE = 64;
/**
 * A batch buffer over this size goes back to the pool once written (FrameBatch reuses one up to 16 times its first
 * 64 KiB), so that no connection holds a large one while it has nothing to send.
 */
const SMALL_BATCH_BUFFER = 1 << 20;

/**
 * Output buffers kept for reuse by every connection of this process (docs/memory.md): a leader's queues to its
 * followers cycle through a few 2 MiB chunks each; 8 buffers cover two followers and two subscribers under load.
 */
export const outputBuffers = new OutputBufferPool(8, 16 << 20, CHUNK_BYTES, MAX_RECYCLED_BYTES);

/**
 * Frames waiting for a socket. Appends go into a batch buffer; `flush()` hands it to the socket in one write (a batch
 * over CHUNK_BYTES goes out as several chunks, in order). Bytes the socket did not take are kept (a socket does not
 * queue them) and written first after the socket reports `drain`; until then `flush()` does not touch the socket.
 */
export class OutgoingQueue {
  private readonly batch: FrameBatch;
  // the start of the stream: bytes handed to the socket that it has not taken yet
  private unwritten: Uint8Array | undefined;
  /** Full chunks after `unwritten` and before the batch, in order. */
  private chunks: Uint8Array[] = [];
  private chunkBytes = 0;
  /** Counts down from KEEP_AFTER_LARGE with each small batch written after a large one. */
  private largeBatchesLately = 0;
  /** The batch gave its buffer back to the pool when it was written; the next append takes one. */
  private batchReleased = false;

  /**
   * `pool`: where buffers the socket took whole go, and where large batches take theirs (new memory cost more to fill
   * than the copy itself).
   */
  constructor(
    private readonly sink: ByteSink,
    maxFrameBytes: number,
    private readonly pool: OutputBufferPool = outputBuffers,
  ) {
    this.batch = new FrameBatch(maxFrameBytes);
  }

  /** Bytes not yet taken by the socket. */
  get queuedBytes(): number {
    return this.batch.length + this.chunkBytes + (this.unwritten === undefined ? 0 : this.unwritten.length);
  }

  /** True while the socket holds back part of what it was given, so the stream may stop in the middle of a frame. */
  get blocked(): boolean {
    return this.unwritten !== undefined;
  }

  /** Encodes one frame at the end of the queue; returns its size. Throws FRAME_TOO_LARGE. */
  append(value: unknown): number {
    if (this.batchReleased) {
      this.batchReleased = false;
      this.batch.detach(this.largeBatchesLately > 0 ? this.takeSpare() : undefined);
    }
    const size = this.batch.append(value);
    if (this.batch.length >= CHUNK_BYTES) {
      this.chunks.push(this.batch.bytes());
      this.chunkBytes += this.batch.length;
      this.batch.detach(this.takeSpare());
    }
    return size;
  }

  /** Writes as much as the socket takes now. Returns false if the socket is closed. */
  flush(): boolean {
    if (this.unwritten !== undefined) return true;
    return this.writeQueued();
  }

  /** The socket can take more: writes the held-back bytes, then the rest. Returns false if the socket is closed. */
  drain(): boolean {
    const rest = this.unwritten;
    if (rest !== undefined) {
      const n = this.sink.write(rest);
      if (n < 0) return false;
      if (n < rest.length) {
        this.unwritten = rest.subarray(n);
        return true;
      }
      this.unwritten = undefined;
      this.recycle(rest);
    }
    return this.writeQueued();
  }

  /** Drops everything queued. */
  clear(): void {
    this.unwritten = undefined;
    this.chunks = [];
    this.chunkBytes = 0;
    this.batchReleased = false;
    this.batch.detach();
  }

  private writeQueued(): boolean {
    while (this.chunks.length > 0) {
      const chunk = this.chunks.shift() as Uint8Array;
      this.chunkBytes -= chunk.length;
      const n = this.sink.write(chunk);
      if (n < 0) return false;
      if (n < chunk.length) {
        this.unwritten = chunk.subarray(n);
        return true;
      }
      this.recycle(chunk);
    }
    if (this.batch.length === 0) return true;
    const bytes = this.batch.bytes();
    const n = this.sink.write(bytes);
    if (n < 0) return false;
    if (n === bytes.length) {
      // large batches come in runs, with small ones between them (a leader's commit-only appends): until a run of
      // small ones, each batch starts in a large buffer from the pool instead of being grown from scratch
      this.largeBatchesLately =
        bytes.length >= CHUNK_BYTES / 4 ? KEEP_AFTER_LARGE : Math.max(0, this.largeBatchesLately - 1);
      if (bytes.buffer.byteLength > SMALL_BATCH_BUFFER) {
        // not kept by the batch: a connection that sends nothing more would hold it for as long as it is open
        this.batch.release();
        this.batchReleased = true;
        this.pool.give(bytes.buffer as ArrayBuffer);
      } else this.batch.clear();
    } else {
      this.unwritten = bytes.subarray(n);
      this.batch.detach(bytes.length >= CHUNK_BYTES ? this.takeSpare() : undefined);
    }
    return true;
  }

  /**
   * A buffer for the next batch while batches are large: a chunk's buffer the socket has taken whole, else a new one
   * already large enough (growing a small one to a chunk copied it over and over).
   */
  private takeSpare(): Uint8Array {
    return this.pool.take() ?? new Uint8Array(2 * CHUNK_BYTES);
  }

  /** A chunk the socket has taken whole: its buffer can hold a next batch. */
  private recycle(written: Uint8Array): void {
    this.pool.give(written.buffer as ArrayBuffer);
  }
}
