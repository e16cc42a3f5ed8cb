import { MAX_NAME_LENGTH, NAME_ALPHABET } from "./names.ts";
import { isTopicName, MAX_TOPIC_BYTES } from "./topic-name.ts";

/**
 * Names (topics, producer ids, subscription names) to and from their UTF-8 bytes on the hot paths, without
 * `String.fromCharCode` for each one: every publish carries a topic and a producer id, and decoding them was one of
 * the largest costs of a broker. The alphabet of names.ts (NAME_ALPHABET) is ASCII, so a name's bytes are its char codes.
 */

/** 1 for each byte of the names' alphabet. */
const NAME_BYTE = new Uint8Array(256);
for (const c of NAME_ALPHABET) NAME_BYTE[c.charCodeAt(0)] = 1;

/** 1 for each ASCII byte a topic name may hold: the printable ones but space and the wildcards `*` and `>`. */
const TOPIC_BYTE = new Uint8Array(128);
for (let b = 0x21; b < 0x7f; b++) TOPIC_BYTE[b] = 1;
TOPIC_BYTE[0x2a] = 0;
TOPIC_BYTE[0x3e] = 0;

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

const SLOTS = 4096;
/** A direct-mapped cache of names decoded lately, by a hash of their bytes: a name repeats message after message. */
const cachedBytes: (Uint8Array | undefined)[] = new Array(SLOTS).fill(undefined);
const cachedNames: string[] = new Array(SLOTS).fill("");

/**
 * The name held in bytes [start, end), or undefined if those bytes are not a valid name (so that the caller can
 * report it the usual way).
 */
export function readName(bytes: Uint8Array, start: number, end: number): string | undefined {
  const length = end - start;
  if (length < 1 || length > MAX_NAME_LENGTH) return undefined;
  let hash = 0x811c9dc5;
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if (NAME_BYTE[b] === 0) return undefined;
    hash = Math.imul(hash ^ b, 0x01000193);
  }
  return cached(bytes, start, end, hash) ?? remember(bytes, start, end, hash, ascii(bytes, start, end));
}

/**
 * The topic name held in bytes [start, end), or undefined if they are not one. ASCII names take the path of readName;
 * others are decoded as strict UTF-8 and checked against the whole rule once, then served from the cache.
 */
export function readTopic(bytes: Uint8Array, start: number, end: number): string | undefined {
  const length = end - start;
  if (length < 1 || length > MAX_TOPIC_BYTES) return undefined;
  let hash = 0x811c9dc5;
  let wide = false;
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if (b >= 0x80) wide = true;
    else if (TOPIC_BYTE[b] === 0) return undefined;
    hash = Math.imul(hash ^ b, 0x01000193);
  }
  // the cache holds only names that passed this check: the same bytes pass it again
  const known = cached(bytes, start, end, hash);
  if (known !== undefined) return known;
  if (!wide) return remember(bytes, start, end, hash, ascii(bytes, start, end));
  let name: string;
  try {
    name = strictUtf8.decode(bytes.subarray(start, end));
  } catch {
    return undefined;
  }
  return isTopicName(name) ? remember(bytes, start, end, hash, name) : undefined;
}

function ascii(bytes: Uint8Array, start: number, end: number): string {
  let name = "";
  for (let i = start; i < end; i++) name += String.fromCharCode(bytes[i]!);
  return name;
}

function cached(bytes: Uint8Array, start: number, end: number, hash: number): string | undefined {
  const length = end - start;
  const slot = (hash >>> 0) & (SLOTS - 1);
  const known = cachedBytes[slot];
  if (known !== undefined && known.length === length) {
    let same = true;
    for (let i = 0; i < length; i++) {
      if (known[i] !== bytes[start + i]) {
        same = false;
        break;
      }
    }
    if (same) return cachedNames[slot];
  }
  return undefined;
}

function remember(bytes: Uint8Array, start: number, end: number, hash: number, name: string): string {
  const slot = (hash >>> 0) & (SLOTS - 1);
  cachedBytes[slot] = bytes.slice(start, end);
  cachedNames[slot] = name;
  return name;
}

/** Whether `name` is a valid name: its bytes are then its char codes, one each. */
export function isName(name: string): boolean {
  const length = name.length;
  if (length < 1 || length > MAX_NAME_LENGTH) return false;
  for (let i = 0; i < length; i++) {
    const c = name.charCodeAt(i);
    if (c > 255 || NAME_BYTE[c] === 0) return false;
  }
  return true;
}

/** Whether `name` is a valid topic name: isTopicName with a quick pass for the common ASCII names. */
export function isTopic(name: string): boolean {
  const length = name.length;
  if (length < 1 || length > MAX_TOPIC_BYTES) return isTopicName(name);
  for (let i = 0; i < length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x80) return isTopicName(name);
    if (TOPIC_BYTE[c] === 0) return false;
  }
  return true;
}
