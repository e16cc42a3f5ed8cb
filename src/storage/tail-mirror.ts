/**
 * The last bytes written to the newest segment, mirrored in memory up to a byte budget, because
 * followers and subscribers mostly read the tail of the log: those reads need no system call.
 * It holds bytes, not entry objects, so a large mirror costs the garbage collector nothing (a
 * cache of entry objects made its pauses reach tens of milliseconds under load).
 */
export class TailMirror {
  private owner: object | undefined;
  /** File position of buf[0]. */
  private start = 0;
  private buf = new Uint8Array(0);
  private length = 0;

  constructor(private readonly maxBytes: number) {}

  /** Bytes written at position `at` of `owner` (a segment); the mirror follows the newest one. */
  append(owner: object, at: number, bytes: Uint8Array): void {
    if (this.maxBytes === 0) return;
    if (owner !== this.owner || at !== this.start + this.length) {
      this.owner = owner;
      this.start = at;
      this.length = 0;
    }
    if (bytes.length > this.maxBytes) {
      this.start = at + bytes.length;
      this.length = 0;
      return;
    }
    if (this.length + bytes.length > this.maxBytes) {
      // Dropping half at a time keeps the copying to a constant cost per byte mirrored.
      const drop = Math.max(this.length + bytes.length - this.maxBytes, this.length >> 1);
      this.buf.copyWithin(0, drop, this.length);
      this.start += drop;
      this.length -= drop;
    }
    if (this.length + bytes.length > this.buf.length) {
      const grown = new Uint8Array(
        Math.min(this.maxBytes, Math.max(this.length + bytes.length, this.buf.length * 2, 4096)),
      );
      grown.set(this.buf.subarray(0, this.length));
      this.buf = grown;
    }
    this.buf.set(bytes, this.length);
    this.length += bytes.length;
  }

  /** Bytes mirrored, and the size of the buffer holding them. */
  get size(): { bytes: number; capacity: number } {
    return { bytes: this.length, capacity: this.buf.length };
  }

  /** A copy of positions [from, to) of `owner`, when the mirror holds all of them. */
  read(owner: object, from: number, to: number): Uint8Array | undefined {
    if (owner !== this.owner || from < this.start || to > this.start + this.length) return undefined;
    return this.buf.slice(from - this.start, to - this.start);
  }

  /** `owner` was cut to `length` bytes. */
  truncate(owner: object, length: number): void {
    if (owner !== this.owner) return;
    this.length = Math.max(0, Math.min(this.length, length - this.start));
  }

  forget(owner: object): void {
    if (owner === this.owner) this.owner = undefined;
  }
}
