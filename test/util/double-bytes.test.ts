import { expect, test } from "bun:test";
import { doubleAt } from "../../src/util/double-bytes.ts";

test("doubleAt reads a big-endian float64 at any place, as DataView does", () => {
  const values = [0, -0, 1, -1.5, 2 ** 32, 1_765_000_000_123, 2 ** 53 - 1, 5e-324, Number.MAX_VALUE, Infinity, NaN];
  for (const value of values) {
    for (const from of [0, 1, 7]) {
      const bytes = new Uint8Array(from + 8 + 3).fill(0xa5);
      new DataView(bytes.buffer).setFloat64(from, value);
      expect({ value, from, read: doubleAt(bytes, from) }).toEqual({ value, from, read: value });
      expect(Object.is(doubleAt(bytes, from), value)).toBe(true);
    }
  }
});
