import { describe, expect, test } from "bun:test";
import { CborWriter } from "../../src/util/cbor-writer.ts";
import { Decoder } from "../../src/util/cbor-x.ts";
import { encodePlain, writePlain } from "../../src/util/plain-cbor.ts";
import { NOT_PLAIN, readPlain } from "../../src/util/plain-cbor-reader.ts";
import { createPrng, type Prng } from "../../src/util/prng.ts";
import { encodeValue, MAX_NESTING_DEPTH } from "../../src/wire/cbor.ts";
import { scanCbor } from "../../src/wire/cbor-scan.ts";
import { encodeFrame } from "../../src/wire/frame-encoder.ts";
import { FRAME_HEADER_BYTES } from "../../src/wire/frame-format.ts";

/** Whole numbers around every width CBOR has for them, and past 2^32 (where cbor-x writes a double). */
const WHOLES = [0, 1, 23, 24, 255, 256, 65_535, 65_536, 2 ** 32 - 1, 2 ** 32, 1_765_000_000_000, 2 ** 53 - 1];
const TEXTS = ["", "ack", "group-ack", "x".repeat(23), "x".repeat(24), "y".repeat(300), "温度", "é".repeat(40), "😀"];
// integer-like keys go first in an object's key order, whatever order they were added in
const KEYS = ["type", "id", "time", "group", "offsets", "ranges", "v", "refused", "k".repeat(30), "2", "1", "10"];

function plainValue(prng: Prng, depth: number): unknown {
  switch (prng.int(0, depth > 3 ? 4 : 6)) {
    case 0:
      return prng.pick(TEXTS);
    case 1:
      return prng.pick(WHOLES);
    case 2:
      return prng.chance(0.5);
    case 3:
      return prng.pick([undefined, null]);
    case 4:
      return Array.from({ length: prng.pick([0, 1, 23, 24, 300, prng.int(0, 40)]) }, () => prng.pick(WHOLES));
    case 5:
      return Array.from({ length: prng.int(0, 4) }, () => plainValue(prng, depth + 1));
    default:
      return plainObject(prng, depth + 1);
  }
}

function plainObject(prng: Prng, depth: number): Record<string, unknown> {
  const value: Record<string, unknown> = {};
  for (let i = prng.int(0, 9); i > 0; i--) value[prng.pick(KEYS)] = plainValue(prng, depth);
  return value;
}

describe("objects of plain data written as cbor-x writes them", () => {
  test("the same bytes as cbor-x for 2,000 random objects: texts, whole numbers, booleans, null, lists, objects", () => {
    const prng = createPrng(16);
    for (let round = 0; round < 2000; round++) {
      const value = plainObject(prng, 0);
      const expected = Buffer.from(encodeValue(value)).toString("hex");
      expect({ value, bytes: Buffer.from(encodePlain(value) ?? []).toString("hex") }).toEqual({
        value,
        bytes: expected,
      });
    }
  });

  test("a heartbeat as a leader sends it: its peers' addresses by id", () => {
    const heartbeat = {
      type: "heartbeat",
      from: 1,
      to: 2,
      term: 3,
      commit: 70_000,
      cluster: {
        membership: {
          voters: [1, 2, 3],
          learners: [],
          addresses: { "1": "127.0.0.1:7001", "2": "h:7002", "3": "h:3" },
        },
        reachable: [1, 3],
      },
    };
    expect(encodePlain(heartbeat)).toEqual(new Uint8Array(encodeValue(heartbeat)));
  });

  const deep: Record<string, unknown> = {};
  let inner = deep;
  for (let i = 0; i < 12; i++) inner = inner.next = {} as Record<string, unknown>;
  test.each([
    ["a negative number", { id: -1 }],
    ["a fraction", { id: 1.5 }],
    ["minus zero", { id: -0 }],
    ["an unsafe integer", { id: 2 ** 53 }],
    ["a fraction in a list", { offsets: [1, 2.5] }],
    ["bytes deep inside", { a: { b: [{ data: new Uint8Array(1) }] } }],
    [
      "a class instance inside",
      {
        a: new (class A {
          x = 1;
        })(),
      },
    ],
    ["a map", { a: new Map() }],
    ["nesting deeper than 8", deep],
    // cbor-x writes a lone surrogate as its three WTF-8 bytes; the writer's UTF-8 would write U+FFFD instead
    ["a text with a lone surrogate", { reason: "x\ud800" }],
    ["a key with a lone surrogate", { "\udc00": 1 }],
    ["a lone surrogate in a list", { names: ["a", "\ud83d"] }],
    // past 65,535 keys cbor-x writes a 32-bit count
    ["an object of 65,536 keys", Object.fromEntries(Array.from({ length: 65_536 }, (_, i) => [`k${i}`, i]))],
    [
      "a class instance",
      new (class A {
        x = 1;
      })(),
    ],
  ])("leaves %s to cbor-x, writing nothing", (_, value) => {
    const w = new CborWriter(8);
    expect(writePlain(w, value)).toBe(false);
    expect(w.at).toBe(0);
    // and the frame carries cbor-x's bytes
    expect(Buffer.from(encodeFrame(value).subarray(FRAME_HEADER_BYTES)).equals(Buffer.from(encodeValue(value)))).toBe(
      true,
    );
  });
});

/** cbor-x's reader as the wire and the command codec use it. */
// int64AsNumber: read by cbor-x, missing from its typings
const cborXOptions = { useRecords: false, mapsAsObjects: true, copyBuffers: true, int64AsNumber: true };
const cborX = new Decoder(cborXOptions);

describe("plain data read as cbor-x reads it", () => {
  test("the same value as cbor-x for 2,000 random objects; what is not plain (non-ASCII text) is left to cbor-x", () => {
    const prng = createPrng(61);
    let left = 0;
    for (let round = 0; round < 2000; round++) {
      const bytes = new Uint8Array(encodeValue(plainObject(prng, 0)));
      const read = readPlain(bytes);
      if (read === NOT_PLAIN) left++;
      else expect({ round, read }).toStrictEqual({ round, read: cborX.decode(bytes) });
    }
    // most random objects hold no non-ASCII text: the comparison covered them
    expect(left).toBeLessThan(1500);
    expect(left).toBeGreaterThan(0);
  });

  test("a heartbeat, a group-ack and its answer are read by hand", () => {
    for (const value of [
      { type: "group-ack", id: 7, subscription: 1, kind: "ack", offsets: [], attempts: [], ranges: [0, 256, 1] },
      { type: "group-acked", id: 7, refused: [3] },
      { type: "x", time: 1_765_000_000_123, big: 2 ** 32 - 1, list: [null, true, false, undefined, "", {}] },
    ]) {
      const bytes = new Uint8Array(encodeValue(value));
      expect(readPlain(bytes)).toStrictEqual(cborX.decode(bytes));
    }
  });

  test("anything cut short, with bytes left over, or not plain is left to cbor-x; what it reads, cbor-x reads alike", () => {
    const prng = createPrng(5);
    const cases: Uint8Array[] = [];
    for (let round = 0; round < 300; round++) {
      const bytes = new Uint8Array(encodeValue(plainObject(prng, 0)));
      cases.push(bytes.subarray(0, prng.int(0, bytes.length - 1)));
      cases.push(new Uint8Array([...bytes, 0]));
      const flipped = bytes.slice();
      flipped[prng.int(0, bytes.length - 1)] = prng.int(0, 255);
      cases.push(flipped);
      cases.push(new Uint8Array(Array.from({ length: prng.int(1, 12) }, () => prng.int(0, 255))));
    }
    // tags, byte strings, negative numbers, 64-bit and half or single floats, non-text keys, "__proto__"
    const notPlain = [
      [0xc1, 0x00],
      [0x41, 0x00],
      [0x20],
      [0x1b, 0, 0, 0, 0, 0, 0, 0, 1],
      [0xf9, 0, 0],
      [0xa1, 0x01, 0x01],
    ];
    for (const bytes of notPlain) expect(readPlain(new Uint8Array(bytes))).toBe(NOT_PLAIN);
    expect(readPlain(new Uint8Array(encodeValue(JSON.parse('{"__proto__": 1}'))))).toBe(NOT_PLAIN);
    for (const bytes of cases) {
      const read = readPlain(bytes);
      if (read === NOT_PLAIN) continue;
      expect(read).toStrictEqual(cborX.decode(bytes));
      // the wire reads plain frames before scanCbor checks them: nothing it takes is what scanCbor would refuse
      expect(scanCbor(bytes, MAX_NESTING_DEPTH)).toBeUndefined();
    }
  });
});
