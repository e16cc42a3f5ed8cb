/**
 * CRC-32 (IEEE 802.3, the polynomial of zlib and gzip), computed slicing-by-8: eight table
 * lookups per 8 input bytes. Every log record and every checksummed file uses it.
 */

const POLY = 0xedb88320;

/**
 * Signed 32-bit tables: a Uint32Array hands values above 2^31 to the JIT as doubles, which made
 * checksumming a record five times slower on data whose table lookups hit those values.
 */
function makeTables(): Int32Array[] {
  const tables = Array.from({ length: 8 }, () => new Int32Array(256));
  const t0 = tables[0] as Int32Array;
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? POLY ^ (c >>> 1) : c >>> 1;
    t0[n] = c;
  }
  for (let n = 0; n < 256; n++) {
    let c = t0[n] as number;
    for (let s = 1; s < 8; s++) {
      c = (t0[c & 0xff] as number) ^ (c >>> 8);
      (tables[s] as Int32Array)[n] = c;
    }
  }
  return tables;
}

const [T0, T1, T2, T3, T4, T5, T6, T7] = makeTables() as [
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
  Int32Array,
];

/** Continues a CRC over `bytes`; start with `crc32Update(0, ...)` for a fresh checksum. */
export function crc32Update(crc: number, bytes: Uint8Array): number {
  let c = ~crc;
  let i = 0;
  const n = bytes.length;
  const end8 = n - (n % 8);
  while (i < end8) {
    const a = c ^ ((bytes[i] as number) | ((bytes[i + 1] as number) << 8) | ((bytes[i + 2] as number) << 16) | ((bytes[i + 3] as number) << 24));
    const b = (bytes[i + 4] as number) | ((bytes[i + 5] as number) << 8) | ((bytes[i + 6] as number) << 16) | ((bytes[i + 7] as number) << 24);
    c =
      (T7[a & 0xff] as number) ^
      (T6[(a >>> 8) & 0xff] as number) ^
      (T5[(a >>> 16) & 0xff] as number) ^
      (T4[a >>> 24] as number) ^
      (T3[b & 0xff] as number) ^
      (T2[(b >>> 8) & 0xff] as number) ^
      (T1[(b >>> 16) & 0xff] as number) ^
      (T0[b >>> 24] as number);
    i += 8;
  }
  while (i < n) {
    c = (T0[(c ^ (bytes[i] as number)) & 0xff] as number) ^ (c >>> 8);
    i++;
  }
  return ~c >>> 0;
}

export function crc32(bytes: Uint8Array): number {
  return crc32Update(0, bytes);
}
