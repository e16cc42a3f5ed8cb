/**
 * An iterative walk over one encoded CBOR item that rejects what this protocol never sends before cbor-x sees it:
 * nesting deeper than a bound (cbor-x decodes recursively, so a nesting bomb would overflow the stack), tags
 * (cbor-x turns some into class instances and record definitions), simple values other than false/true/null/
 * undefined, indefinite-length strings, truncation and trailing bytes. Returns a reason, or undefined if the item is
 * acceptable. Uses no recursion and allocates nothing per call.
 */

const MAX_SUPPORTED_DEPTH = 1024;
// remaining[d] is the number of items still expected in the container open at depth d; -1 is indefinite length.
const remaining = new Float64Array(MAX_SUPPORTED_DEPTH + 1);

export function scanCbor(bytes: Uint8Array, maxDepth: number): string | undefined {
  if (maxDepth > MAX_SUPPORTED_DEPTH) throw new RangeError(`maxDepth above ${MAX_SUPPORTED_DEPTH}`);
  const end = bytes.length;
  let p = 0;
  let depth = 0;
  remaining[0] = 1;
  for (;;) {
    while (depth >= 0 && remaining[depth] === 0) depth--;
    if (depth < 0) break;
    if (p >= end) return "truncated CBOR item";
    const at = p;
    const initial = bytes[p++]!;
    const left = remaining[depth]!;
    if (initial === 0xff) {
      if (left !== -1) return `unexpected CBOR break at byte ${at}`;
      depth--;
      continue;
    }
    if (left > 0) remaining[depth] = left - 1;
    const major = initial >> 5;
    const info = initial & 0x1f;
    let argument: number;
    if (info < 24) {
      argument = info;
    } else if (info <= 27) {
      const size = 1 << (info - 24);
      if (end - p < size) return "truncated CBOR item";
      argument = readArgument(bytes, p, size);
      p += size;
    } else if (info === 31 && (major === 4 || major === 5)) {
      argument = -1;
    } else {
      return `unsupported CBOR initial byte 0x${initial.toString(16)} at byte ${at}`;
    }
    switch (major) {
      case 0:
      case 1:
        break;
      case 2:
      case 3:
        if (argument > end - p) return "truncated CBOR item";
        p += argument;
        break;
      case 4:
      case 5: {
        if (argument === 0) break;
        // every item takes at least one byte, so a larger count can never be satisfied
        const items = argument === -1 ? -1 : major === 5 ? argument * 2 : argument;
        if (items > end - p) return "truncated CBOR item";
        if (depth >= maxDepth) return `CBOR nesting deeper than ${maxDepth} levels`;
        remaining[++depth] = items;
        break;
      }
      case 6:
        return `CBOR tag ${argument} at byte ${at} is not used by this protocol`;
      default:
        if (info < 20 || info === 24) return `CBOR simple value ${argument} at byte ${at} is not used by this protocol`;
    }
  }
  if (p !== end) return `${end - p} bytes after the CBOR item`;
  return undefined;
}

function readArgument(bytes: Uint8Array, p: number, size: number): number {
  let value = 0;
  for (let i = 0; i < size; i++) value = value * 256 + bytes[p + i]!;
  return value;
}
