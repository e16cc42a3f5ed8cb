/**
 * A double from its 8 big-endian bytes (CBOR's float64), read through one shared scratch array: a DataView made per
 * read is an allocation each, and a time in ms is past 2^32, so every message time and command time is a double.
 */
const DOUBLE = new Float64Array(1);
const DOUBLE_BYTES = new Uint8Array(DOUBLE.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** The double in `bytes[from .. from + 8)`, big-endian; the caller has checked that the 8 bytes are there. */
export function doubleAt(bytes: Uint8Array, from: number): number {
  if (LITTLE_ENDIAN) for (let i = 0; i < 8; i++) DOUBLE_BYTES[i] = bytes[from + 7 - i] as number;
  else for (let i = 0; i < 8; i++) DOUBLE_BYTES[i] = bytes[from + i] as number;
  return DOUBLE[0] as number;
}
