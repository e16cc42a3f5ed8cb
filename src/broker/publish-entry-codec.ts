import { asciiText, CborWriter } from "../util/cbor-writer.ts";
import { Encoder } from "../util/cbor-x.ts";
import { doubleAt } from "../util/double-bytes.ts";
import { type HeaderPairs, isHeaders } from "../util/message-headers.ts";
import { readName, readTopic } from "../util/name-bytes.ts";
import { utf8Length } from "../util/topic-name.ts";
import type { PublishMessage } from "./commands.ts";

/**
 * The publish entry, the hot path of every replica, written and read by hand: the same bytes cbor-x gives
 * (command-codec.ts, docs/state-machine.md), without cbor-x's generic walk, a string built per topic and producer id,
 * or a valibot run per message. Reading takes only the exact form written here; anything else is left to the
 * generic decoder, which checks it the usual way and says what is wrong.
 */

/** `{"type": "publish", "time": ` as cbor-x writes it. */
const PREFIX = concat([0xb9, 0x00, 0x03], asciiText("type"), asciiText("publish"), asciiText("time"));
const MESSAGES_KEY = asciiText("messages");
const UNDEFINED = new Uint8Array([0xf7]);
const NULL = new Uint8Array([0xf6]);
// the extras map of a message (headers) as command-codec.ts's cbor-x writes it; rare enough to go through cbor-x
const extrasCbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

/** What a message carries besides payload and producer fields (command-codec.ts's extras). */
export interface EntryExtras {
  headers?: HeaderPairs;
  ttl?: number;
}

/** A publish message read from an entry: checked, its payload a view into the entry. */
export type EntryMessage =
  | [topic: string, data: Uint8Array]
  | [topic: string, data: Uint8Array, extras: EntryExtras]
  | [topic: string, data: Uint8Array, producer: string, seq: number]
  | [topic: string, data: Uint8Array, producer: string, seq: number, epoch: number]
  | [topic: string, data: Uint8Array, producer: string, seq: number, epoch: number, low: number]
  | [
      topic: string,
      data: Uint8Array,
      producer: string,
      seq: number,
      epoch: number | null,
      low: number | null,
      extras: EntryExtras,
    ];

const HEADERS_KEY = asciiText("headers");
const TTL_KEY = asciiText("ttl");
const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * The entry in a buffer of its own size, or at most an eighth larger: the log store keeps the entries it appended
 * last as they are (docs/memory.md), and an entry pins its whole buffer. A fixed 48 bytes a message and 3 a topic's
 * character made the buffer of 128-byte publishes to a short topic 37 % larger than the entry.
 */
export function encodePublishEntry(time: number, messages: readonly PublishMessage[]): Uint8Array {
  // what a message takes at most; CborWriter.head reserves 5 bytes, hence the slack at the end
  let size = PREFIX.length + 9 + MESSAGES_KEY.length + 5 + 8;
  for (const m of messages) {
    const topic = utf8Length(m.topic);
    size += 1 + CborWriter.headSize(topic) + topic + CborWriter.headSize(m.data.length) + m.data.length;
    if (m.producer !== undefined || m.seq !== undefined || m.epoch !== undefined)
      size += 5 + (m.producer?.length ?? 0) + 27;
    if (m.headers !== undefined || m.ttl !== undefined) size += 64;
  }
  const w = new CborWriter(size);
  w.raw(PREFIX);
  w.whole(time);
  w.raw(MESSAGES_KEY);
  w.head(4, messages.length);
  for (const m of messages) {
    // half a (producer, seq) pair goes out as four items all the same, so that the invalid message stays invalid
    const long = m.producer !== undefined || m.seq !== undefined || m.epoch !== undefined;
    if (m.headers !== undefined || m.ttl !== undefined) {
      writeWithExtras(w, m, long);
      continue;
    }
    w.head(4, m.epoch !== undefined ? (m.low !== undefined ? 6 : 5) : long ? 4 : 2);
    w.text(m.topic);
    w.bytes(m.data);
    if (!long) continue;
    if (m.producer === undefined) w.raw(UNDEFINED);
    else w.ascii(m.producer);
    if (m.seq === undefined) w.raw(UNDEFINED);
    else w.whole(m.seq);
    if (m.epoch !== undefined) w.whole(m.epoch);
    if (m.epoch !== undefined && m.low !== undefined) w.whole(m.low);
  }
  // headers beyond the estimate grew the buffer
  return w.buffer.length - w.at > w.at >> 3 ? w.buffer.slice(0, w.at) : w.buffer.subarray(0, w.at);
}

/**
 * A message with extras (headers): `[topic, data, extras]`, or `[topic, data, producer, seq, epoch|null, low|null,
 * extras]` with producer fields. Never read back by readPublishEntry: such entries take the generic path.
 */
function writeWithExtras(w: CborWriter, m: PublishMessage, long: boolean): void {
  w.head(4, long ? 7 : 3);
  w.text(m.topic);
  w.bytes(m.data);
  if (long) {
    if (m.producer === undefined) w.raw(UNDEFINED);
    else w.ascii(m.producer);
    if (m.seq === undefined) w.raw(UNDEFINED);
    else w.whole(m.seq);
    if (m.epoch === undefined) w.raw(NULL);
    else w.whole(m.epoch);
    if (m.low === undefined) w.raw(NULL);
    else w.whole(m.low);
  }
  const extras: { headers?: typeof m.headers; ttl?: number } = {};
  if (m.headers !== undefined) extras.headers = m.headers;
  if (m.ttl !== undefined) extras.ttl = m.ttl;
  w.raw(extrasCbor.encode(extras));
}

/**
 * The time and messages of a publish entry in the form encodePublishEntry writes, every message valid; undefined
 * for anything else (another command, an invalid message, another encoder's choices), to be decoded generically.
 */
export function readPublishEntry(bytes: Uint8Array): { time: number; messages: EntryMessage[] } | undefined {
  const end = bytes.length;
  if (end < PREFIX.length + 1) return undefined;
  for (let i = 0; i < PREFIX.length; i++) if (bytes[i] !== PREFIX[i]) return undefined;
  const r = new Reader(bytes, PREFIX.length);
  const time = r.whole();
  if (time < 0) return undefined;
  if (end - r.at < MESSAGES_KEY.length) return undefined;
  for (let i = 0; i < MESSAGES_KEY.length; i++) if (bytes[r.at + i] !== MESSAGES_KEY[i]) return undefined;
  r.at += MESSAGES_KEY.length;
  const count = r.head(4);
  if (count < 0) return undefined;
  const messages: EntryMessage[] = [];
  for (let k = 0; k < count; k++) {
    const items = r.head(4);
    if (items < 2 || items > 7) return undefined;
    const topic = r.topic();
    if (topic === undefined) return undefined;
    const length = r.head(2);
    if (length < 0 || length > end - r.at) return undefined;
    const data = bytes.subarray(r.at, r.at + length);
    r.at += length;
    if (items === 2) {
      messages.push([topic, data]);
      continue;
    }
    if (items === 3) {
      const extras = r.extras();
      if (extras === undefined) return undefined;
      messages.push([topic, data, extras]);
      continue;
    }
    const producer = r.name();
    if (producer === undefined) return undefined;
    const seq = r.whole();
    if (seq < 0) return undefined;
    if (items === 4) {
      messages.push([topic, data, producer, seq]);
      continue;
    }
    if (items === 7) {
      const epoch = r.wholeOrNull();
      const low = epoch === undefined ? undefined : r.wholeOrNull();
      const extras = low === undefined ? undefined : r.extras();
      if (extras === undefined || epoch === undefined || low === undefined || epoch === 0) return undefined;
      if (low !== null && (epoch === null || low > seq)) return undefined;
      messages.push([topic, data, producer, seq, epoch, low, extras]);
      continue;
    }
    const epoch = r.whole();
    if (epoch < 1) return undefined;
    if (items === 5) {
      messages.push([topic, data, producer, seq, epoch]);
      continue;
    }
    const low = r.whole();
    if (low < 0 || low > seq) return undefined;
    messages.push([topic, data, producer, seq, epoch, low]);
  }
  return r.at === end ? { time, messages } : undefined;
}

/** Reads definite-length items; -1 (or undefined for names) when the next item is not what was asked for. */
class Reader {
  constructor(
    private readonly bytes: Uint8Array,
    public at: number,
  ) {}

  /** The argument of an item of `major` type (up to 32 bits), or -1. */
  head(major: number): number {
    const b = this.bytes;
    if (this.at >= b.length) return -1;
    const initial = b[this.at]!;
    if (initial >> 5 !== major) return -1;
    const info = initial & 0x1f;
    const size = info < 24 ? 0 : info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : -1;
    if (size < 0 || this.at + 1 + size > b.length) return -1;
    let n = info < 24 ? info : 0;
    for (let i = 1; i <= size; i++) n = n * 256 + b[this.at + i]!;
    this.at += 1 + size;
    return n;
  }

  /** A whole number a double holds exactly, as an unsigned integer or a double; -1 if it is not one. */
  whole(): number {
    const b = this.bytes;
    if (b[this.at] === 0xfb) {
      if (this.at + 9 > b.length) return -1;
      const n = doubleAt(b, this.at + 1);
      if (!Number.isSafeInteger(n) || n < 0) return -1;
      this.at += 9;
      return n;
    }
    return this.head(0);
  }

  name(): string | undefined {
    return this.text(readName);
  }

  /** A whole number, or null (CBOR null); undefined for anything else. */
  wholeOrNull(): number | null | undefined {
    if (this.bytes[this.at] === 0xf6) {
      this.at++;
      return null;
    }
    const n = this.whole();
    return n < 0 ? undefined : n;
  }

  /** A message's extras map as encodePublishEntry writes it, checked as command-codec.ts checks it. */
  extras(): EntryExtras | undefined {
    const count = this.head(5);
    if (count < 1 || count > 2) return undefined;
    const extras: EntryExtras = {};
    for (let i = 0; i < count; i++) {
      if (extras.headers === undefined && this.key(HEADERS_KEY)) {
        const headers = this.headers();
        if (headers === undefined) return undefined;
        extras.headers = headers;
      } else if (extras.ttl === undefined && this.key(TTL_KEY)) {
        const ttl = this.whole();
        if (ttl < 1) return undefined;
        extras.ttl = ttl;
      } else return undefined;
    }
    return extras;
  }

  /** Whether the next bytes are `key` (taking them if so). */
  private key(key: Uint8Array): boolean {
    if (this.at + key.length > this.bytes.length) return false;
    for (let i = 0; i < key.length; i++) if (this.bytes[this.at + i] !== key[i]) return false;
    this.at += key.length;
    return true;
  }

  private headers(): HeaderPairs | undefined {
    const count = this.head(4);
    if (count < 0 || count > this.bytes.length - this.at) return undefined;
    const pairs: HeaderPairs = [];
    for (let i = 0; i < count; i++) {
      if (this.head(4) !== 2) return undefined;
      const key = this.utf8();
      const value = key === undefined ? undefined : this.utf8();
      if (key === undefined || value === undefined) return undefined;
      pairs.push([key, value]);
    }
    return isHeaders(pairs) ? pairs : undefined;
  }

  private utf8(): string | undefined {
    const length = this.head(3);
    if (length < 0 || length > this.bytes.length - this.at) return undefined;
    const start = this.at;
    this.at += length;
    try {
      return strictUtf8.decode(this.bytes.subarray(start, this.at));
    } catch {
      return undefined;
    }
  }

  topic(): string | undefined {
    return this.text(readTopic);
  }

  private text(read: (bytes: Uint8Array, start: number, end: number) => string | undefined): string | undefined {
    const start = this.at;
    const length = this.head(3);
    if (length < 0 || length > this.bytes.length - this.at) {
      this.at = start;
      return undefined;
    }
    const name = read(this.bytes, this.at, this.at + length);
    this.at += length;
    return name;
  }
}

function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const out: number[] = [];
  for (const p of parts) out.push(...p);
  return new Uint8Array(out);
}
