import { CborWriter } from "../util/cbor-writer.ts";
import { MqraftError } from "../util/errors.ts";
import { writePlain } from "../util/plain-cbor.ts";
import { encodeValue } from "./cbor.ts";
import { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES } from "./frame-format.ts";
import { encodeHot } from "./hot-encoders.ts";

const NO_BYTES = new Uint8Array(0);

/** One value as one frame. Throws MqraftError FRAME_TOO_LARGE if the peer would refuse it. */
export function encodeFrame(value: unknown, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Uint8Array {
  const batch = new FrameBatch(maxFrameBytes, 0);
  batch.append(value);
  return batch.bytes();
}

/** Many values as consecutive frames in one buffer. */
export function encodeFrames(values: Iterable<unknown>, maxFrameBytes = DEFAULT_MAX_FRAME_BYTES): Uint8Array {
  const batch = new FrameBatch(maxFrameBytes);
  for (const value of values) batch.append(value);
  return batch.bytes();
}

/**
 * A growable buffer of consecutive frames, so that a whole batch goes to the socket in one write. The hot messages
 * are written straight into it (hot-encoders.ts), the others through cbor-x. After `detach()` the bytes handed out
 * stay untouched: the next append starts a fresh buffer.
 */
export class FrameBatch {
  private readonly out: CborWriter;

  constructor(
    readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
    private readonly initialCapacity = 64 * 1024,
  ) {
    this.out = new CborWriter(initialCapacity);
  }

  /** Bytes held, headers included. */
  get length(): number {
    return this.out.at;
  }

  /** Appends one frame; returns its size. Throws FRAME_TOO_LARGE and leaves the batch unchanged if it is over the limit. */
  append(value: unknown): number {
    const out = this.out;
    const start = out.at;
    out.reserve(FRAME_HEADER_BYTES);
    out.at += FRAME_HEADER_BYTES;
    try {
      // a message of plain data (an answer, a heartbeat) is written by hand as cbor-x would (plain-cbor.ts), the rest by cbor-x
      if (!encodeHot(out, value) && !(typeof value === "object" && value !== null && writePlain(out, value)))
        out.raw(encodeValue(value));
    } catch (e) {
      out.at = start;
      throw e;
    }
    const length = out.at - start - FRAME_HEADER_BYTES;
    if (length > this.maxFrameBytes) {
      out.at = start;
      throw new MqraftError(
        "FRAME_TOO_LARGE",
        `message of ${length} bytes is over the frame limit of ${this.maxFrameBytes} bytes`,
      );
    }
    out.setUint32(start, length);
    return FRAME_HEADER_BYTES + length;
  }

  /** A view of the frames held; valid until the next append, clear or detach. */
  bytes(): Uint8Array {
    return this.out.buffer.subarray(0, this.out.at);
  }

  /** Forgets the frames and reuses the buffer, unless it grew large, so a burst does not pin its memory. */
  clear(): void {
    if (this.out.buffer.length > 16 * this.initialCapacity) this.out.replace(this.initialCapacity);
    else this.out.at = 0;
  }

  /**
   * Forgets the frames and lets go of the buffer without taking another: the batch holds nothing until the next
   * `detach()`, which must come before the next append.
   */
  release(): void {
    this.out.adopt(NO_BYTES);
  }

  /** Forgets the frames and leaves the buffer to whoever holds a view of it; goes on in `next` if given (unused). */
  detach(next?: Uint8Array): void {
    if (next !== undefined) this.out.adopt(next);
    else this.out.replace(this.initialCapacity);
  }
}
