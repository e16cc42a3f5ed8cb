import { doubleAt } from "../util/double-bytes.ts";
import { isHeaders } from "../util/message-headers.ts";
import { readName, readTopic } from "../util/name-bytes.ts";
import { HOT_TABLES, TYPE_KEY } from "./hot-fields.ts";
import { BOOLEAN, BYTES, CHOICE, HEADERS, LIST, NAME, type Reader, readerOf, TOPIC, WHOLE } from "./hot-readers.ts";
import { RUN_LAYOUT } from "./run-layout.ts";

/**
 * Hand-written reading of the hot messages (hot-fields.ts), checked field by field against their schemas' tables
 * while they are read, names through the name cache instead of a new string each. Only the plain form is taken: a
 * definite-length map whose first key is `type`, every other key a field of that type's schema, present once and
 * valid. Anything else (an unknown field, a bad value, `type` later in the map, another message) gives undefined
 * and is decoded and validated the generic way, which also words the error.
 */

const READERS = [...HOT_TABLES.values()].map(readerOf);
const { RUN_KEYS, DATA_KEY, TIME_KEY, HEADERS_KEY } = RUN_LAYOUT;

const EMPTY = new Uint8Array(0);
let src: Uint8Array = EMPTY;
let at = 0;
let end = 0;
/** Whether byte strings read are copies (else views into `src`). */
let copying = true;

/**
 * The message in `bytes` (one CBOR item) if it is a hot message in the plain form, valid; else undefined. Its
 * payloads are copies, so that they keep neither the receive chunk alive nor a view into it; with `publishViews`, a
 * publish's payload is a view into `bytes` instead (for a receiver that copies it into its log at once).
 */
export function readHot(bytes: Uint8Array, publishViews = false): Record<string, unknown> | undefined {
  // a plain Uint8Array, so that the copies `slice` makes are plain copies too (a Buffer's slice is a view)
  src = bytes.constructor === Uint8Array ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  at = 0;
  end = bytes.length;
  const message = readMessage(publishViews);
  // the frame is not kept alive by this module
  src = EMPTY;
  return at === end ? message : undefined;
}

function readMessage(publishViews: boolean): Record<string, unknown> | undefined {
  const count = head(5);
  if (count < 1 || !matches(TYPE_KEY)) return undefined;
  at += TYPE_KEY.length;
  let reader: Reader | undefined;
  for (const r of READERS) {
    if (matches(r.typeBytes!)) {
      reader = r;
      break;
    }
  }
  if (reader === undefined) return undefined;
  at += reader.typeBytes!.length;
  copying = !(publishViews && reader.type === "publish");
  if (reader.type === "group-run") {
    const from = at;
    const run = readRun(count - 1);
    if (run !== undefined) return run;
    // not in the order the run reader takes: the generic reading decides
    at = from;
  }
  const out: Record<string, unknown> = { type: reader.type };
  return readFields(reader, count - 1, out) ? out : undefined;
}

/**
 * A `group-run` push (its `count` fields after `type`) as its senders write it: every field, in the schema's order
 * (run-layout.ts checks that order against the schema at load), each message's `data`, then `time` and `headers` if
 * it has them. Most of what a member gets are these; read without looking each key up, and each message without
 * the generic reading's per-field search. Undefined for anything else, valid or not: the generic reading decides.
 */
function readRun(count: number): Record<string, unknown> | undefined {
  if (count !== RUN_KEYS.length || !key(RUN_KEYS[0])) return undefined;
  const subscription = whole();
  if (subscription === undefined || !key(RUN_KEYS[1])) return undefined;
  const t = topic();
  if (t === undefined || !key(RUN_KEYS[2])) return undefined;
  const offset = whole();
  if (offset === undefined || !key(RUN_KEYS[3])) return undefined;
  const attempt = whole();
  if (attempt === undefined || !key(RUN_KEYS[4])) return undefined;
  const length = head(4);
  // every message takes at least one byte
  if (length < 0 || length > end - at) return undefined;
  const messages: Record<string, unknown>[] = new Array(length);
  for (let i = 0; i < length; i++) {
    const fields = head(5);
    if (fields < 1 || fields > 3 || !key(DATA_KEY)) return undefined;
    const data = byteString();
    if (data === undefined) return undefined;
    let time: number | undefined;
    let pairs: [string, string][] | undefined;
    let left = fields - 1;
    if (left > 0 && key(TIME_KEY)) {
      time = whole();
      if (time === undefined) return undefined;
      left--;
    }
    if (left > 0) {
      if (left > 1 || !key(HEADERS_KEY)) return undefined;
      pairs = headers();
      if (pairs === undefined) return undefined;
    }
    if (pairs === undefined) messages[i] = time === undefined ? { data } : { data, time };
    else messages[i] = time === undefined ? { data, headers: pairs } : { data, time, headers: pairs };
  }
  return { type: "group-run", subscription, topic: t, offset, attempt, messages };
}

/** Whether the text string `expected` is next; if so, it is read. */
function key(expected: Uint8Array): boolean {
  if (!matches(expected)) return false;
  at += expected.length;
  return true;
}

/** Reads `count` fields of `r` into `out`; false if they are not exactly a valid set of them. */
function readFields(r: Reader, count: number, out: Record<string, unknown>): boolean {
  const keyBytes = r.keyBytes;
  const n = keyBytes.length;
  if (count < r.requiredCount || count > n) return false;
  let seen = 0;
  let required = 0;
  // senders write the fields in the schema's order: the search for each key starts after the one before
  let next = 0;
  for (let read = 0; read < count; read++) {
    let i = next;
    let tries = 0;
    while (tries < n && !matches(keyBytes[i]!)) {
      i = i + 1 === n ? 0 : i + 1;
      tries++;
    }
    if (tries === n || (seen & (1 << i)) !== 0) return false;
    seen |= 1 << i;
    next = i + 1 === n ? 0 : i + 1;
    at += keyBytes[i]!.length;
    if (r.required[i]) required++;
    else if (src[at] === 0xf7) {
      // an optional field sent as undefined: the generic path keeps it so
      at++;
      out[r.keys[i]!] = undefined;
      continue;
    }
    const value = readValue(r.kinds[i]!, r.extra[i]);
    if (value === undefined) return false;
    out[r.keys[i]!] = value;
  }
  return required === r.requiredCount;
}

function readValue(kind: number, extra: readonly number[] | Reader | undefined): unknown {
  switch (kind) {
    case WHOLE:
      return whole();
    case NAME:
      return name();
    case TOPIC:
      return topic();
    case HEADERS:
      return headers();
    case BYTES:
      return byteString();
    case BOOLEAN:
      return boolean();
    case CHOICE: {
      const n = whole();
      return n !== undefined && (extra as readonly number[]).includes(n) ? n : undefined;
    }
    case LIST: {
      const length = head(4);
      // every item takes at least one byte
      if (length < 0 || length > end - at) return undefined;
      const items: Record<string, unknown>[] = new Array(length);
      for (let i = 0; i < length; i++) {
        const item: Record<string, unknown> = {};
        if (!readFields(extra as Reader, head(5), item)) return undefined;
        items[i] = item;
      }
      return items;
    }
    default:
      throw new Error(`hot decoder: field kind ${kind}`);
  }
}

/** Whether the bytes at `at` begin with `expected`. */
function matches(expected: Uint8Array): boolean {
  const length = expected.length;
  if (length > end - at) return false;
  for (let i = 0; i < length; i++) if (src[at + i] !== expected[i]) return false;
  return true;
}

/** The argument of an item of `major` type, up to 2^53; -1 if the next item is not one. */
function head(major: number): number {
  if (at >= end) return -1;
  const initial = src[at]!;
  if (initial >> 5 !== major) return -1;
  const info = initial & 0x1f;
  const size = info < 24 ? 0 : info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : -1;
  if (size < 0 || at + 1 + size > end) return -1;
  let n = info < 24 ? info : 0;
  for (let i = 1; i <= size; i++) n = n * 256 + src[at + i]!;
  if (n > Number.MAX_SAFE_INTEGER) return -1;
  at += 1 + size;
  return n;
}

function name(): string | undefined {
  const length = head(3);
  if (length < 0 || length > end - at) return undefined;
  const n = readName(src, at, at + length);
  at += length;
  return n;
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/** [key, value] text pairs, checked by the rule the schema checks (isHeaders). */
function headers(): [string, string][] | undefined {
  const count = head(4);
  // every pair takes at least three bytes
  if (count < 0 || count > end - at) return undefined;
  const pairs: [string, string][] = new Array(count);
  for (let i = 0; i < count; i++) {
    if (head(4) !== 2) return undefined;
    const key = text();
    const value = key === undefined ? undefined : text();
    if (value === undefined) return undefined;
    pairs[i] = [key as string, value];
  }
  return isHeaders(pairs) ? pairs : undefined;
}

function text(): string | undefined {
  const length = head(3);
  if (length < 0 || length > end - at) return undefined;
  const start = at;
  at += length;
  try {
    return strictUtf8.decode(src.subarray(start, at));
  } catch {
    return undefined;
  }
}

function topic(): string | undefined {
  const length = head(3);
  if (length < 0 || length > end - at) return undefined;
  const n = readTopic(src, at, at + length);
  at += length;
  return n;
}

/** A whole number a double holds exactly, as an unsigned integer or a double; undefined otherwise. */
function whole(): number | undefined {
  if (src[at] === 0xfb) {
    if (at + 9 > end) return undefined;
    const n = doubleAt(src, at + 1);
    if (!Number.isSafeInteger(n) || n < 0) return undefined;
    at += 9;
    return n;
  }
  const n = head(0);
  return n < 0 ? undefined : n;
}

/**
 * A copy (a plain Uint8Array: `src` is one), or a view into the frame when not `copying`. `slice` is the cheapest
 * copy Bun has, cheaper than a view into one copy shared by a frame's payloads, which would also keep all of them
 * alive while any one is.
 */
function byteString(): Uint8Array | undefined {
  const length = head(2);
  if (length < 0 || length > end - at) return undefined;
  const from = at;
  at += length;
  return copying ? src.slice(from, at) : src.subarray(from, at);
}

function boolean(): boolean | undefined {
  const b = src[at];
  if (b !== 0xf4 && b !== 0xf5) return undefined;
  at++;
  return b === 0xf5;
}
