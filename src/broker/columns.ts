/** Copies `from[head, tail)` to the start of `to` (a larger or smaller column) and returns `to`. */
export function moveInto<T extends Float64Array | Uint32Array>(to: T, from: T, head: number, tail: number): T {
  to.set(from.subarray(head, tail));
  return to;
}
