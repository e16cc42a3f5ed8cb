import { FrameBatch } from "./frame-encoder.ts";

/** Where the queue writes: a socket's `write`, which may take fewer bytes than given and returns -1 once closed. */
export interface ByteSink {
  write(bytes: Uint8Array): number;
}

/**
 * Frames waiting for a socket. Appends go into one batch buffer; `flush()` hands the whole batch to the socket in
 * one write. Bytes the socket did not take are kept (a socket does not queue them) and written first after the
 * socket reports `drain`; until then `flush()` does not touch the socket.
 */
export class OutgoingQueue {
  private readonly batch: FrameBatch;
  // the start of the stream: bytes handed to the socket that it has not taken yet
  private unwritten: Uint8Array | undefined;

  constructor(
    private readonly sink: ByteSink,
    maxFrameBytes: number,
  ) {
    this.batch = new FrameBatch(maxFrameBytes);
  }

  /** Bytes not yet taken by the socket. */
  get queuedBytes(): number {
    return this.batch.length + (this.unwritten === undefined ? 0 : this.unwritten.length);
  }

  /** True while the socket holds back part of what it was given, so the stream may stop in the middle of a frame. */
  get blocked(): boolean {
    return this.unwritten !== undefined;
  }

  /** Encodes one frame at the end of the queue; returns its size. Throws FRAME_TOO_LARGE. */
  append(value: unknown): number {
    return this.batch.append(value);
  }

  /** Writes as much as the socket takes now. Returns false if the socket is closed. */
  flush(): boolean {
    if (this.unwritten !== undefined) return true;
    return this.writeBatch();
  }

  /** The socket can take more: writes the held-back bytes, then the batch. Returns false if the socket is closed. */
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
    }
    return this.writeBatch();
  }

  /** Drops everything queued. */
  clear(): void {
    this.unwritten = undefined;
    this.batch.detach();
  }

  private writeBatch(): boolean {
    if (this.batch.length === 0) return true;
    const bytes = this.batch.bytes();
    const n = this.sink.write(bytes);
    if (n < 0) return false;
    if (n === bytes.length) {
      this.batch.clear();
    } else {
      this.unwritten = bytes.subarray(n);
      this.batch.detach();
    }
    return true;
  }
}
