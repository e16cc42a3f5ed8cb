import { doubleAt } from "./double-bytes.ts";

/** What `readPlain` returns for bytes it leaves to cbor-x. */
export const NOT_PLAIN: unique symbol = Symbol("not plain CBOR");

/** Deepest nesting read here; anything deeper is left to cbor-x. */
const MAX_DEPTH = 16;

let src: Uint8Array = new Uint8Array(0);
let pos = 0;
let failed = false;

/**
 * One CBOR item exactly filling `bytes`, read as cbor-x reads it (`mapsAsObjects`), when it is plain data: maps with
 * ASCII text keys, arrays, ASCII text, unsigned integers below 2^32, doubles, false, true, null, undefined; NOT_PLAIN
 * (nothing else done) for anything else or anything malformed, which the caller leaves to cbor-x, so that its
 * errors stay as they are. A consumer group's acks are such items, on every replica and on the leader as requests: read
 * by cbor-x they made its generic reader hot enough for the JIT to compile it, which a broker without groups never
 * does. test/util/plain-cbor.test.ts compares what both read over random items.
 */
export function readPlain(bytes: Uint8Array): unknown {
  src = bytes;
  pos = 0;
  failed = false;
  const value = item(0);
  const done = !failed && pos === bytes.length;
  src = EMPTY;
  return done ? value : NOT_PLAIN;
}

const EMPTY: Uint8Array = new Uint8Array(0);

/** The item at `pos`; sets `failed` (and returns undefined) for one that is not plain. */
function item(depth: number): unknown {
  if (failed || pos >= src.length || depth > MAX_DEPTH) return fail();
  const initial = src[pos++] as number;
  const major = initial >> 5;
  const info = initial & 0x1f;
  if (major === 7) {
    if (info === 20) return false;
    if (info === 21) return true;
    if (info === 22) return null;
    if (info === 23) return undefined;
    if (info !== 27 || pos + 8 > src.length) return fail();
    const double = doubleAt(src, pos);
    pos += 8;
    return double;
  }
  const n = argument(info);
  if (failed) return undefined;
  switch (major) {
    case 0:
      return n;
    case 3:
      return text(n);
    case 4: {
      // each item takes a byte at least: a count past the bytes left is malformed
      if (n > src.length - pos) return fail();
      const list = new Array(n);
      for (let i = 0; i < n; i++) list[i] = item(depth + 1);
      return list;
    }
    case 5: {
      if (n > src.length - pos) return fail();
      const object: Record<string, unknown> = {};
      for (let i = 0; i < n; i++) {
        if (pos >= src.length || (src[pos] as number) >> 5 !== 3) return fail();
        const key = text(argument((src[pos++] as number) & 0x1f));
        if (key === undefined || key === "__proto__") return fail();
        object[key] = item(depth + 1);
      }
      return object;
    }
    default:
      return fail();
  }
}

/** The argument of an initial byte's `info`, below 2^32. */
function argument(info: number): number {
  if (info < 24) return info;
  const size = info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : 0;
  if (size === 0 || pos + size > src.length) return fail() ?? 0;
  let n = 0;
  for (let i = 0; i < size; i++) n = n * 256 + (src[pos++] as number);
  return n;
}

/** `length` bytes of ASCII text at `pos`. */
function text(length: number): string | undefined {
  if (failed || length > src.length - pos) return fail();
  let s = "";
  for (let i = 0; i < length; i++) {
    const c = src[pos++] as number;
    if (c >= 0x80) return fail();
    s += String.fromCharCode(c);
  }
  return s;
}

function fail(): undefined {
  failed = true;
  return undefined;
}
