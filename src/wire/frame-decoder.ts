import { MqraftError } from "../util/errors.ts";
import { decodeValue } from "./cbor.ts";
import { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES } from "./frame-format.ts";
import { readHot } from "./hot-decoders.ts";
import { TlsHandshakeError } from "./tls-options.ts";

const CONSUMED = new Uint8Array(0);

/** Returned by `FrameDecoder.next()` when no complete frame is buffered. */
export const NEED_MORE: unique symbol = Symbol("need more bytes");

/**
 * Turns a byte stream, split anywhere, into decoded values. Chunks are kept as a list and a frame that lies inside
 * one chunk is decoded in place; only a frame that spans chunks is copied, once. The first bad frame ends the
 * stream: `next()` throws that same MqraftError (FRAME_TOO_LARGE or BAD_FRAME) from then on.
 */
export class FrameDecoder {
  private chunks: Uint8Array[] = [];
  // chunks before head are consumed; offset is the read position inside chunks[head]
  private head = 0;
  private offset = 0;
  private buffered = 0;
  // body length of the frame whose header was consumed, or -1 while the next header is still unread
  private bodyLength = -1;
  private failure: MqraftError | undefined;
  /** Whether the value `next()` returned last was read by hot-decoders.ts, and so is already valid for its type. */
  hot = false;

  constructor(
    /** Checked against each frame's header as it is read, so it may change between frames (Connection.limitIncomingFrames). */
    public maxFrameBytes = DEFAULT_MAX_FRAME_BYTES,
    /** A publish's payload read by hot-decoders.ts is a view into the received bytes (ConnectionOptions.publishViews). */
    private readonly publishViews = false,
  ) {}

  /** Bytes received and not yet returned as values. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Adds received bytes. The decoder keeps a view of `chunk` until it is consumed: do not reuse its memory. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0 || this.failure !== undefined) return;
    // a plain Uint8Array view, so that byte strings decoded from it are plain Uint8Arrays as well
    this.chunks.push(
      chunk.constructor === Uint8Array ? chunk : new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength),
    );
    this.buffered += chunk.length;
  }

  /** The next decoded value, or NEED_MORE. Throws MqraftError for a bad frame. */
  next(): unknown {
    if (this.failure !== undefined) throw this.failure;
    if (this.bodyLength < 0) {
      if (this.buffered < FRAME_HEADER_BYTES) return NEED_MORE;
      const length = this.readHeader();
      if (length > this.maxFrameBytes) {
        return this.fail(
          looksLikeTls(length)
            ? new MqraftError(
                "BAD_FRAME",
                "the other side speaks TLS and this one does not: a TLS port needs --tls-ca (or MQRAFT_TLS_CA) on the client, and a clear-text port takes no TLS",
                { cause: new TlsHandshakeError("TLS bytes on a clear-text connection") },
              )
            : new MqraftError(
                "FRAME_TOO_LARGE",
                `frame of ${length} bytes is over the limit of ${this.maxFrameBytes} bytes`,
              ),
        );
      }
      this.bodyLength = length;
    }
    if (this.buffered < this.bodyLength) return NEED_MORE;
    const body = this.take(this.bodyLength);
    this.bodyLength = -1;
    const hot = readHot(body, this.publishViews);
    this.hot = hot !== undefined;
    if (hot !== undefined) return hot;
    try {
      return decodeValue(body);
    } catch (e) {
      return this.fail(e instanceof MqraftError ? e : new MqraftError("BAD_FRAME", String(e), { cause: e }));
    }
  }

  private fail(error: MqraftError): never {
    this.failure = error;
    this.chunks = [];
    this.head = 0;
    this.buffered = 0;
    throw error;
  }

  private readHeader(): number {
    const first = this.chunks[this.head]!;
    const at = this.offset;
    if (first.length - at >= FRAME_HEADER_BYTES) {
      this.advance(FRAME_HEADER_BYTES);
      return ((first[at]! << 24) | (first[at + 1]! << 16) | (first[at + 2]! << 8) | first[at + 3]!) >>> 0;
    }
    const header = this.take(FRAME_HEADER_BYTES);
    return ((header[0]! << 24) | (header[1]! << 16) | (header[2]! << 8) | header[3]!) >>> 0;
  }

  /** Removes `length` buffered bytes (there must be that many): a view if they lie in one chunk, else a copy. */
  private take(length: number): Uint8Array {
    const first = this.chunks[this.head];
    if (first === undefined) return new Uint8Array(0);
    if (first.length - this.offset >= length) {
      const view = first.subarray(this.offset, this.offset + length);
      this.advance(length);
      return view;
    }
    const copy = new Uint8Array(length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.chunks[this.head]!;
      const n = Math.min(length - filled, chunk.length - this.offset);
      copy.set(chunk.subarray(this.offset, this.offset + n), filled);
      filled += n;
      this.advance(n);
    }
    return copy;
  }

  private advance(n: number): void {
    this.offset += n;
    this.buffered -= n;
    if (this.offset < this.chunks[this.head]!.length) return;
    this.offset = 0;
    this.chunks[this.head++] = CONSUMED;
    if (this.head === this.chunks.length) {
      this.chunks.length = 0;
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.chunks.length) {
      // many small chunks: drop the consumed ones in one step once they are half the list (amortized O(1) each)
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}

/**
 * Whether a frame header is the start of a TLS record instead (a handshake or an alert, TLS 1.0 to 1.3): those read
 * as lengths of 350 MB and more, so a frame limit always refuses them, and this says why.
 */
function looksLikeTls(header: number): boolean {
  const contentType = header >>> 24;
  const major = (header >>> 16) & 0xff;
  const minor = (header >>> 8) & 0xff;
  return (contentType === 0x15 || contentType === 0x16) && major === 3 && minor <= 4;
}
