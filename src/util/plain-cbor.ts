import { CborWriter } from "./cbor-writer.ts";

/** Deepest nesting written here; anything deeper is left to cbor-x. */
const MAX_DEPTH = 8;

/**
 * The CBOR cbor-x writes (`useRecords: false`, maps as objects) for a plain object of plain data: its own keys in
 * their order, each value text, a whole number, a boolean, null, undefined, a plain object of such values, or an
 * array of them. A consumer group's acks and their answers, and the leader's heartbeats, are such objects, a few
 * hundred of them a second: through cbor-x they made its whole generic encoder hot enough for the JIT to compile it
 * (the largest function it compiled on a leader serving a group). Anything else (byte strings, other numbers, class
 * instances) is left to cbor-x: `writePlain` writes nothing and returns false. The bytes are cbor-x's
 * (test/util/plain-cbor.test.ts compares them over random objects).
 */
export function writePlain(w: CborWriter, value: object): boolean {
  if (!isPlainObject(value, 0)) return false;
  writeObject(w, value as Record<string, unknown>);
  return true;
}

/** writePlain's bytes as a buffer of their own; undefined for an object it does not take. */
export function encodePlain(value: object): Uint8Array | undefined {
  const w = new CborWriter(256);
  return writePlain(w, value) ? w.buffer.slice(0, w.at) : undefined;
}

function writeObject(w: CborWriter, fields: Record<string, unknown>): void {
  let count = 0;
  for (const _ in fields) count++;
  w.mapHeader(count);
  for (const key in fields) {
    w.text(key);
    writeValue(w, fields[key]);
  }
}

function writeValue(w: CborWriter, x: unknown): void {
  if (typeof x === "string") w.text(x);
  else if (typeof x === "number") w.whole(x);
  else if (typeof x === "boolean") w.simple(x);
  else if (x === undefined) w.undefinedValue();
  // null: simple value 22
  else if (x === null) w.head(7, 22);
  else if (Array.isArray(x)) {
    w.head(4, x.length);
    for (let i = 0; i < x.length; i++) writeValue(w, x[i]);
  } else writeObject(w, x as Record<string, unknown>);
}

/**
 * Keys an object may have here: the writer's map header counts them in 16 bits (past that cbor-x writes a 32-bit
 * count).
 */
const MAX_KEYS = 0xffff;

/**
 * A plain object (cbor-x writes its keys as `for ... in` gives them) of plain values only, all its keys its own and
 * well-formed text, at most MAX_KEYS of them.
 */
function isPlainObject(x: object, depth: number): boolean {
  if (x.constructor !== Object || depth > MAX_DEPTH) return false;
  const fields = x as Record<string, unknown>;
  let keys = 0;
  for (const key in fields) {
    if (++keys > MAX_KEYS || !Object.hasOwn(fields, key) || !key.isWellFormed() || !isPlain(fields[key], depth + 1))
      return false;
  }
  return true;
}

function isPlain(x: unknown, depth: number): boolean {
  // a lone surrogate: cbor-x writes its three WTF-8 bytes, the writer's UTF-8 would write U+FFFD
  if (typeof x === "string") return x.isWellFormed();
  if (typeof x === "boolean" || x === undefined || x === null) return true;
  if (typeof x === "number") return Number.isSafeInteger(x) && x >= 0 && !Object.is(x, -0);
  if (typeof x !== "object") return false;
  if (!Array.isArray(x)) return isPlainObject(x, depth);
  if (x.constructor !== Array || depth > MAX_DEPTH) return false;
  for (let i = 0; i < x.length; i++) if (!isPlain(x[i], depth + 1)) return false;
  return true;
}
