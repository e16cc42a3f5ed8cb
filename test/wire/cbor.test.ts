import { describe, expect, test } from "bun:test";
import { isMqraftError } from "../../src/util/errors.ts";
import { decodeValue, encodeValue, MAX_NESTING_DEPTH } from "../../src/wire/cbor.ts";

function nestedArrays(depth: number): Uint8Array {
  // depth one-element arrays around a 0
  const bytes = new Uint8Array(depth + 1).fill(0x81);
  bytes[depth] = 0x00;
  return bytes;
}

function decodeError(bytes: Uint8Array): unknown {
  try {
    return decodeValue(bytes);
  } catch (e) {
    return e;
  }
}

describe("cbor", () => {
  test("plain data round-trips, byte strings as plain Uint8Array copies", () => {
    const payload = new Uint8Array([0, 1, 2, 250, 255]);
    const value = {
      type: "x",
      n: 42,
      neg: -7,
      big: 2 ** 40,
      f: 1.5,
      s: "héllo ✓",
      b: true,
      z: null,
      list: [1, "a", [2]],
      payload,
    };
    const bytes = encodeValue(value);
    const decoded = decodeValue(new Uint8Array(bytes)) as typeof value;
    expect(decoded).toEqual(value);
    expect(decoded.payload.constructor).toBe(Uint8Array);
    expect(decoded.payload.buffer).not.toBe(bytes.buffer);
  });

  test("a byte string decoded from a Buffer is still a plain Uint8Array", () => {
    const decoded = decodeValue(Buffer.from(encodeValue({ p: new Uint8Array([1, 2]) }))) as { p: Uint8Array };
    expect(decoded.p.constructor).toBe(Uint8Array);
  });

  test("nesting up to the limit decodes; one level deeper is BAD_FRAME", () => {
    expect(decodeValue(nestedArrays(MAX_NESTING_DEPTH))).toBeArray();
    const error = decodeError(nestedArrays(MAX_NESTING_DEPTH + 1));
    expect(isMqraftError(error, "BAD_FRAME")).toBe(true);
    expect(String(error)).toContain("nesting deeper");
  });

  test("a nesting bomb of a million levels is rejected without touching the stack", () => {
    // arrays, maps ({"": {"": ...}}) and indefinite-length arrays
    const maps = new Uint8Array(200_001).fill(0xa1);
    for (let i = 1; i < 200_000; i += 2) maps[i] = 0x60;
    maps[200_000] = 0x00;
    for (const bomb of [nestedArrays(1_000_000), maps, new Uint8Array(100_000).fill(0x9f)]) {
      const error = decodeError(bomb);
      expect(isMqraftError(error, "BAD_FRAME")).toBe(true);
      expect(String(error)).toContain(`nesting deeper than ${MAX_NESTING_DEPTH} levels`);
    }
  });

  test.each([
    ["empty input", []],
    ["a truncated string", [0x65, 0x61, 0x62]],
    ["trailing bytes", [0x01, 0x02]],
    ["a tag (Date)", [0xc1, 0x1a, 0, 0, 0, 0]],
    ["a record definition tag", [0xd9, 0xdf, 0xff, 0x83, 0x00, 0x80, 0x00]],
    ["a reserved initial byte", [0x1c]],
    ["an indefinite-length string", [0x7f, 0x61, 0x61, 0xff]],
    ["a stray break", [0xff]],
    ["an array longer than the input", [0x9a, 0xff, 0xff, 0xff, 0xff, 0x00]],
    ["an unassigned simple value", [0xf0]],
  ])("%s is BAD_FRAME", (_name, bytes) => {
    const error = decodeError(new Uint8Array(bytes));
    expect(isMqraftError(error, "BAD_FRAME")).toBe(true);
  });

  test("indefinite-length arrays and maps from other encoders decode", () => {
    // [_ 1, 2] and {_ "a": 1}
    expect(decodeValue(new Uint8Array([0x9f, 0x01, 0x02, 0xff]))).toEqual([1, 2]);
    expect(decodeValue(new Uint8Array([0xbf, 0x61, 0x61, 0x01, 0xff]))).toEqual({ a: 1 });
  });

  test("a 64-bit integer from another encoder decodes as a number", () => {
    const bytes = new Uint8Array([0x1b, 0, 0, 0, 1, 0, 0, 0, 0]);
    expect(decodeValue(bytes)).toBe(2 ** 32);
  });

  test("__proto__ keys cannot pollute prototypes", () => {
    // {"__proto__": {"polluted": true}}
    const bytes = encodeValue(new Map([["__proto__", { polluted: true }]]));
    // cbor-x tags Maps; build the untagged map by hand instead
    const untagged = bytes.subarray(3);
    const decoded = decodeValue(new Uint8Array(untagged)) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(decoded.polluted).toBeUndefined();
  });
});
