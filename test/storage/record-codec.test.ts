import { describe, expect, test } from "bun:test";
import {
  decodeRecordAt,
  decodeSegmentHeader,
  encodeRecordInto,
  encodeSegmentHeader,
  recordSize,
  SEGMENT_HEADER_SIZE,
} from "../../src/storage/record-codec.ts";

function encode(index: number, term: number, kind: 0 | 1, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(recordSize(data.length));
  encodeRecordInto(out, 0, { index, term, kind, data });
  return out;
}

describe("record codec", () => {
  test("a record round-trips, including indexes and terms above 2^32", () => {
    const data = new TextEncoder().encode("payload");
    const d = decodeRecordAt(encode(2 ** 40 + 3, 2 ** 33, 1, data), 0);
    expect(d.ok && { ...d.record, data: [...d.record.data] }).toEqual({
      index: 2 ** 40 + 3,
      term: 2 ** 33,
      kind: 1,
      data: [...data],
    });
  });

  test("every single-bit flip in a record is detected", () => {
    const bytes = encode(7, 3, 0, new Uint8Array([1, 2, 3, 4, 5]));
    const undetected: string[] = [];
    for (let byte = 0; byte < bytes.length; byte++) {
      for (let bit = 0; bit < 8; bit++) {
        const copy = bytes.slice();
        copy[byte] = (copy[byte] as number) ^ (1 << bit);
        if (decodeRecordAt(copy, 0).ok) undetected.push(`byte ${byte} bit ${bit}`);
      }
    }
    expect(undetected).toEqual([]);
  });

  test("a record cut short says how many bytes it needs", () => {
    const bytes = encode(1, 1, 0, new Uint8Array(20));
    expect(decodeRecordAt(bytes.subarray(0, 30), 0)).toEqual({
      ok: false,
      problem: "record cut short (30 of 45 bytes)",
      need: 45,
    });
    expect(decodeRecordAt(bytes.subarray(0, 5), 0)).toEqual({
      ok: false,
      problem: "record prefix cut short (5 of 8 bytes)",
    });
  });

  test("an unknown entry kind with a valid checksum is refused", () => {
    const bytes = encode(1, 1, 0, new Uint8Array(0));
    const forged = new Uint8Array(bytes.length);
    encodeRecordInto(forged, 0, { index: 1, term: 1, kind: 7 as 0, data: new Uint8Array(0) });
    expect(decodeRecordAt(forged, 0)).toEqual({ ok: false, problem: "unknown entry kind 7" });
  });

  test("a segment header round-trips and names what is wrong with a bad one", () => {
    const h = encodeSegmentHeader(101, 7);
    expect(h.length).toBe(SEGMENT_HEADER_SIZE);
    expect(decodeSegmentHeader(h)).toEqual({ ok: true, firstIndex: 101, prevTerm: 7 });
    const damaged = h.slice();
    damaged[10] = (damaged[10] as number) ^ 4;
    expect(decodeSegmentHeader(damaged)).toEqual({ ok: false, problem: "header checksum mismatch" });
    expect(decodeSegmentHeader(h.subarray(0, 20))).toEqual({ ok: false, problem: "header cut short (20 of 28 bytes)" });
  });
});
