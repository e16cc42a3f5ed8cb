/** Copies `from[head, tail)` to the start of `to` (a larger or smaller column) and returns `to`. */
export function moveInto<T extends Float64Array | Uint32Array>(to: T, from: T, head: number, tail: number): T {
  to.set(from.subarray(head, tail));
  return to;
}

/** The bytes of `column[head, tail)`, a view (in the platform's byte order, little-endian wherever Bun runs). */
export function bytesOf(column: Float64Array | Uint32Array, head: number, tail: number): Uint8Array {
  const width = column.BYTES_PER_ELEMENT;
  return new Uint8Array(column.buffer, column.byteOffset + head * width, (tail - head) * width);
}
