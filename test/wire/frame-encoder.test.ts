import { describe, expect, test } from "bun:test";
import { isMqraftError } from "../../src/util/errors.ts";
import { encodeValue } from "../../src/wire/cbor.ts";
import { encodeFrame, encodeFrames, FrameBatch } from "../../src/wire/frame-encoder.ts";

describe("frame encoder", () => {
  test("a frame is a 4-byte big-endian length, then the CBOR bytes", () => {
    const value = { type: "hello", version: 1 };
    const body = encodeValue(value);
    const frame = encodeFrame(value);
    expect(frame.length).toBe(4 + body.length);
    expect(new DataView(frame.buffer, frame.byteOffset).getUint32(0)).toBe(body.length);
    expect(frame.subarray(4)).toEqual(new Uint8Array(body));
  });

  test("many values become consecutive frames in one buffer", () => {
    const values = [1, "two", { three: 3 }];
    const joined = encodeFrames(values);
    expect(joined).toEqual(new Uint8Array([...encodeFrame(1), ...encodeFrame("two"), ...encodeFrame({ three: 3 })]));
  });

  test("a value over the frame limit throws FRAME_TOO_LARGE and leaves the batch unchanged", () => {
    const batch = new FrameBatch(100);
    batch.append("small");
    const before = batch.bytes().slice();
    let error: unknown;
    try {
      batch.append(new Uint8Array(200));
    } catch (e) {
      error = e;
    }
    expect(isMqraftError(error, "FRAME_TOO_LARGE")).toBe(true);
    expect(batch.bytes()).toEqual(before);
  });

  test("a batch grows past its initial capacity and keeps every frame", () => {
    const batch = new FrameBatch(1024, 16);
    const values = Array.from({ length: 500 }, (_, i) => ({ i, pad: "x".repeat(i % 50) }));
    for (const value of values) batch.append(value);
    expect(batch.bytes()).toEqual(encodeFrames(values));
  });

  test("bytes handed out before detach() are not overwritten by later appends", () => {
    const batch = new FrameBatch(1024, 64);
    batch.append("first");
    const handedOut = batch.bytes();
    const copy = handedOut.slice();
    batch.detach();
    expect(batch.length).toBe(0);
    batch.append("second, written into a fresh buffer");
    expect(handedOut).toEqual(copy);
  });
});
