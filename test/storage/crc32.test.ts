import { describe, expect, test } from "bun:test";
import { crc32, crc32Update } from "../../src/storage/crc32.ts";
import { createPrng } from "../../src/util/prng.ts";

const text = (s: string): Uint8Array => new TextEncoder().encode(s);

describe("crc32", () => {
  test("matches the published CRC-32 (IEEE) check values", () => {
    expect(crc32(text("123456789"))).toBe(0xcbf43926);
    expect(crc32(new Uint8Array(0))).toBe(0);
    expect(crc32(text("a"))).toBe(0xe8b7be43);
    expect(crc32(text("The quick brown fox jumps over the lazy dog"))).toBe(0x414fa339);
    expect(crc32(new Uint8Array(32))).toBe(0x190a55ad);
    expect(crc32(new Uint8Array(32).fill(0xff))).toBe(0xff6cab0b);
  });

  test("agrees with Bun's native crc32 on every length up to 100 and at random offsets", () => {
    const prng = createPrng(42);
    const buf = new Uint8Array(300);
    for (let i = 0; i < buf.length; i++) buf[i] = prng.int(0, 255);
    for (let len = 0; len <= 100; len++) {
      const at = prng.int(0, 200);
      const slice = buf.subarray(at, at + len);
      expect({ len, at, crc: crc32(slice) }).toEqual({ len, at, crc: Bun.hash.crc32(slice) });
    }
  });

  test("continuing over pieces equals one pass over the whole", () => {
    const all = text("group commit shares one fdatasync between many appends");
    for (let cut = 0; cut <= all.length; cut++) {
      expect(crc32Update(crc32Update(0, all.subarray(0, cut)), all.subarray(cut))).toBe(crc32(all));
    }
  });
});
