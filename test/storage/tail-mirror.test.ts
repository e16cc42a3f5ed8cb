import { describe, expect, test } from "bun:test";
import { TailMirror } from "../../src/storage/tail-mirror.ts";

const bytes = (from: number, to: number): Uint8Array =>
  Uint8Array.from({ length: to - from }, (_, i) => (from + i) & 0xff);
const seg1 = {};
const seg2 = {};

describe("tail mirror", () => {
  test("holds the most recent bytes of the newest segment, up to its budget", () => {
    const m = new TailMirror(100);
    m.append(seg1, 28, bytes(28, 88));
    expect([...(m.read(seg1, 30, 40) ?? [])]).toEqual([...bytes(30, 40)]);
    m.append(seg1, 88, bytes(88, 148));
    expect(m.read(seg1, 28, 60)).toBeUndefined();
    expect([...(m.read(seg1, 60, 148) ?? [])]).toEqual([...bytes(60, 148)]);
    expect(m.read(seg1, 140, 150)).toBeUndefined();
    expect(m.read(seg2, 100, 110)).toBeUndefined();
  });

  test("follows a new segment, a cut, and a write that does not continue its bytes", () => {
    const m = new TailMirror(100);
    m.append(seg1, 28, bytes(28, 68));
    m.append(seg2, 28, bytes(128, 168));
    expect(m.read(seg1, 30, 40)).toBeUndefined();
    expect([...(m.read(seg2, 28, 68) ?? [])]).toEqual([...bytes(128, 168)]);
    m.truncate(seg2, 48);
    expect(m.read(seg2, 40, 50)).toBeUndefined();
    m.append(seg2, 48, bytes(0, 10));
    expect([...(m.read(seg2, 40, 58) ?? [])]).toEqual([...bytes(140, 148), ...bytes(0, 10)]);
    m.append(seg2, 90, bytes(0, 5));
    expect(m.read(seg2, 40, 50)).toBeUndefined();
    expect([...(m.read(seg2, 90, 95) ?? [])]).toEqual([...bytes(0, 5)]);
  });

  test("a copy is returned, so later writes do not change bytes already read", () => {
    const m = new TailMirror(16);
    m.append(seg1, 0, bytes(0, 10));
    const read = m.read(seg1, 0, 10) as Uint8Array;
    m.append(seg1, 10, bytes(10, 20));
    expect([...read]).toEqual([...bytes(0, 10)]);
  });

  test("a budget of zero mirrors nothing", () => {
    const m = new TailMirror(0);
    m.append(seg1, 0, bytes(0, 10));
    expect(m.read(seg1, 0, 1)).toBeUndefined();
  });
});
