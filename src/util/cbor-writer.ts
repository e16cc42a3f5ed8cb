/**
 * A growable buffer that hand-written encoders of the hot messages write CBOR into, in the form cbor-x gives the
 * same value (`useRecords: false`, maps as objects): a map header with a 16-bit count, whole numbers as the smallest
 * unsigned integer up to 2^32 and as a double above, byte strings untagged. Going through cbor-x for a publish
 * built an intermediate buffer and, for every payload, an ArrayBuffer behind it (cbor-x reads `.buffer`).
 */
export class CborWriter {
  buffer: Uint8Array;
  private view: DataView;
  /** Bytes written. */
  at = 0;

  constructor(capacity = 64 * 1024) {
    this.buffer = new Uint8Array(capacity);
    this.view = new DataView(this.buffer.buffer);
  }

  /** Makes room for `n` more bytes. */
  reserve(n: number): void {
    const needed = this.at + n;
    if (needed <= this.buffer.length) return;
    const old = this.buffer.subarray(0, this.at);
    this.buffer = new Uint8Array(Math.max(needed, this.buffer.length * 2));
    this.view = new DataView(this.buffer.buffer);
    this.buffer.set(old);
  }

  /** Starts over in a new buffer of `capacity` bytes, leaving the old one to whoever holds a view of it. */
  replace(capacity: number): void {
    this.adopt(new Uint8Array(capacity));
  }

  /** Starts over in `buffer`, which nobody else uses any more. */
  adopt(buffer: Uint8Array): void {
    this.buffer = buffer;
    this.view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
    this.at = 0;
  }

  setUint32(at: number, value: number): void {
    this.view.setUint32(at, value);
  }

  /** The bytes `head` writes for argument `n`. */
  static headSize(n: number): number {
    return n < 24 ? 1 : n < 0x100 ? 2 : n < 0x10000 ? 3 : 5;
  }

  /** An initial byte of `major` type with argument `n` (a whole number below 2^32), in the fewest bytes. */
  head(major: number, n: number): void {
    this.reserve(5);
    const b = this.buffer;
    const m = major << 5;
    if (n < 24) b[this.at++] = m | n;
    else if (n < 0x100) {
      b[this.at++] = m | 24;
      b[this.at++] = n;
    } else if (n < 0x10000) {
      b[this.at++] = m | 25;
      b[this.at++] = n >> 8;
      b[this.at++] = n & 0xff;
    } else {
      b[this.at++] = m | 26;
      this.view.setUint32(this.at, n);
      this.at += 4;
    }
  }

  /** A map header as cbor-x writes it for an object: a 16-bit count. */
  mapHeader(count: number): void {
    this.reserve(3);
    this.buffer[this.at++] = 0xb9;
    this.buffer[this.at++] = count >> 8;
    this.buffer[this.at++] = count & 0xff;
  }

  /** A whole number of at least 0: an unsigned integer below 2^32, a double from there on (as cbor-x does). */
  whole(n: number): void {
    if (n < 0x100000000) return this.head(0, n);
    this.reserve(9);
    this.buffer[this.at++] = 0xfb;
    this.view.setFloat64(this.at, n);
    this.at += 8;
  }

  /** A text string of ASCII characters only (names, message types, keys): its char codes are its bytes. */
  ascii(s: string): void {
    const length = s.length;
    this.head(3, length);
    this.reserve(length);
    const b = this.buffer;
    for (let i = 0; i < length; i++) b[this.at++] = s.charCodeAt(i);
  }

  /** A text string of any characters (topic names), in UTF-8; ASCII takes the path of `ascii`. */
  text(s: string): void {
    for (let i = 0; i < s.length; i++) {
      if (s.charCodeAt(i) >= 0x80) {
        this.bytesAs(3, utf8.encode(s));
        return;
      }
    }
    this.ascii(s);
  }

  bytes(data: Uint8Array): void {
    this.bytesAs(2, data);
  }

  private bytesAs(major: number, data: Uint8Array): void {
    this.head(major, data.length);
    this.reserve(data.length);
    this.buffer.set(data, this.at);
    this.at += data.length;
  }

  /** Bytes already encoded (a key and its initial byte, say). */
  raw(encoded: Uint8Array): void {
    this.reserve(encoded.length);
    this.buffer.set(encoded, this.at);
    this.at += encoded.length;
  }

  /** `undefined`, as cbor-x writes a property whose value is undefined. */
  undefinedValue(): void {
    this.reserve(1);
    this.buffer[this.at++] = 0xf7;
  }

  simple(value: boolean): void {
    this.reserve(1);
    this.buffer[this.at++] = value ? 0xf5 : 0xf4;
  }
}

const utf8 = new TextEncoder();

/** The CBOR text string of an ASCII key, to write with `raw`. */
export function asciiText(s: string): Uint8Array {
  const w = new CborWriter(s.length + 5);
  w.ascii(s);
  return w.buffer.slice(0, w.at);
}
