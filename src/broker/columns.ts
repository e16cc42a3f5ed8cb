export type Column = Float64Array | Uint32Array | Uint16Array;

/** Copies `from[head, tail)` to the start of `to` (a larger or smaller column) and returns `to`. */
export function moveInto<T extends Column>(to: T, from: T, head: number, tail: number): T {
  to.set(from.subarray(head, tail));
  return to;
}

/** The bytes of `column[head, tail)`, a view (in the platform's byte order, little-endian wherever Bun runs). */
export function bytesOf(column: Column, head: number, tail: number): Uint8Array {
  const width = column.BYTES_PER_ELEMENT;
  return new Uint8Array(column.buffer, column.byteOffset + head * width, (tail - head) * width);
}

/**
 * The capacity for `count` elements in a column of `capacity` once it is full: the same (slide the range down) when at
 * least a third is free, so that each element moves at most twice per capacity of appends; otherwise 1.5 times. A
 * growing column then wastes at most a third of itself, a sliding one (retention dropping the oldest) at most 55 %
 * (by doubling: a half and three quarters).
 */
export function grownCapacity(count: number, capacity: number): number {
  return count * 3 <= capacity * 2 ? capacity : Math.ceil(capacity * 1.5);
}

/**
 * The last position in [lo, hi) of the ascending `values` whose value is at most `value`, given that values[lo] is:
 * a gallop from `guess` to a range that holds it, then halving that range. O(1) when the guess is right or close,
 * O(log n) at worst.
 */
export function lastAtOrBelow(values: Float64Array, lo: number, hi: number, guess: number, value: number): number {
  let step = 1;
  let first: number;
  let last: number; // the answer is in [first, last]
  if ((values[guess] as number) <= value) {
    first = guess;
    while (first + step < hi && (values[first + step] as number) <= value) {
      first += step;
      step *= 2;
    }
    last = Math.min(first + step, hi) - 1;
  } else {
    let above = guess; // a position whose value is above `value`
    while (above - step > lo && (values[above - step] as number) > value) {
      above -= step;
      step *= 2;
    }
    first = Math.max(above - step, lo);
    last = above - 1;
  }
  while (first < last) {
    const mid = (first + last + 1) >>> 1;
    if ((values[mid] as number) <= value) first = mid;
    else last = mid - 1;
  }
  return first;
}
