import { MqraftError } from "../util/errors.ts";
import { encodeValue } from "./cbor.ts";
import { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES } from "./frame-format.ts";

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
 * A growable buffer of consecutive frames, so that a whole batch goes to the socket in one write. After `detach()`
 * the bytes handed out stay untouched: the next append starts a fresh buffer.
 */
export class FrameBatch {
  private buffer: Uint8Array;
  private view: DataView;
  private used = 0;

  constructor(
    readonly maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
    private readonly initialCapacity = 64 * 1024,
  ) {
    this.buffer = new Uint8Array(initialCapacity);
    this.view = new DataView(this.buffer.buffer);
  }

  /** Bytes held, headers included. */
  get length(): number {
    return this.used;
  }

  /** Appends one frame; returns its size. Throws FRAME_TOO_LARGE and leaves the batch unchanged if it is over the limit. */
  append(value: unknown): number {
    const body = encodeValue(value);
    if (body.length > this.maxFrameBytes) {
      throw new MqraftError(
        "FRAME_TOO_LARGE",
        `message of ${body.length} bytes is over the frame limit of ${this.maxFrameBytes} bytes`,
      );
    }
    const size = FRAME_HEADER_BYTES + body.length;
    if (this.used + size > this.buffer.length) this.grow(this.used + size);
    this.view.setUint32(this.used, body.length);
    this.buffer.set(body, this.used + FRAME_HEADER_BYTES);
    this.used += size;
    return size;
  }

  /** A view of the frames held; valid until the next append, clear or detach. */
  bytes(): Uint8Array {
    return this.buffer.subarray(0, this.used);
  }

  /** Forgets the frames and reuses the buffer, unless it grew large, so a burst does not pin its memory. */
  clear(): void {
    this.used = 0;
    if (this.buffer.length > 16 * this.initialCapacity) this.replace(this.initialCapacity);
  }

  /** Forgets the frames and leaves the buffer to whoever holds a view of it. */
  detach(): void {
    this.used = 0;
    this.replace(0);
  }

  private grow(needed: number): void {
    const old = this.buffer.subarray(0, this.used);
    this.replace(Math.max(needed, this.buffer.length * 2, this.initialCapacity));
    this.buffer.set(old);
  }

  private replace(capacity: number): void {
    this.buffer = new Uint8Array(capacity);
    this.view = new DataView(this.buffer.buffer);
  }
}
