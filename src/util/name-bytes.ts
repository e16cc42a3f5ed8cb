import { MAX_NAME_LENGTH, NAME_ALPHABET } from "./names.ts";

/**
 * Names (topics, producer ids, subscription names) to and from their UTF-8 bytes on the hot paths, without
 * `String.fromCharCode` for each one: every publish carries a topic and a producer id, and decoding them was one of
 * the largest costs of a broker. The alphabet of names.ts (NAME_ALPHABET) is ASCII, so a name's bytes are its char codes.
 */

/** 1 for each byte of the names' alphabet. */
const NAME_BYTE = new Uint8Array(256);
for (const c of NAME_ALPHABET) NAME_BYTE[c.charCodeAt(0)] = 1;

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
  let name = "";
  for (let i = start; i < end; i++) name += String.fromCharCode(bytes[i]!);
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
