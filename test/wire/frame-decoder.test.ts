import { describe, expect, test } from "bun:test";
import { isMqraftError } from "../../src/util/errors.ts";
import { createPrng } from "../../src/util/prng.ts";
import { FrameDecoder, NEED_MORE } from "../../src/wire/frame-decoder.ts";
import { encodeFrame, encodeFrames } from "../../src/wire/frame-encoder.ts";
import { concat, header } from "./helpers.ts";

/** Pushes `chunks` one by one, draining after each; returns every value in order. */
function decodeAll(chunks: Uint8Array[], decoder = new FrameDecoder()): unknown[] {
  const values: unknown[] = [];
  for (const chunk of chunks) {
    decoder.push(chunk);
    for (let value = decoder.next(); value !== NEED_MORE; value = decoder.next()) values.push(value);
  }
  return values;
}

function failure(run: () => unknown): unknown {
  try {
    run();
  } catch (e) {
    return e;
  }
  throw new Error("expected a failure, got none");
}

const messages: unknown[] = [
  { type: "hello", version: 1, token: "secret" },
  { type: "data", seq: 1, payload: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) },
  { type: "empty", list: [] },
  "a string",
  0,
  { type: "data", seq: 2, payload: new Uint8Array(300).fill(7) },
  null,
];
const stream = encodeFrames(messages);

describe("FrameDecoder", () => {
  test("decodes a multi-frame buffer split at every point", () => {
    for (let at = 0; at <= stream.length; at++) {
      const values = decodeAll([stream.subarray(0, at), stream.subarray(at)]);
      expect(values).toEqual(messages);
    }
  });

  test("decodes a multi-frame buffer split at every pair of points", () => {
    for (let a = 0; a <= stream.length; a += 3) {
      for (let b = a; b <= stream.length; b += 5) {
        const values = decodeAll([stream.subarray(0, a), stream.subarray(a, b), stream.subarray(b)]);
        if (values.length !== messages.length) throw new Error(`split at ${a},${b}: ${values.length} values`);
      }
    }
  });

  test("decodes the stream fed one byte at a time", () => {
    const bytes = Array.from({ length: stream.length }, (_, i) => stream.subarray(i, i + 1));
    expect(decodeAll(bytes)).toEqual(messages);
  });

  test("decodes random splits (seeded)", () => {
    const prng = createPrng(7);
    for (let round = 0; round < 200; round++) {
      const chunks: Uint8Array[] = [];
      for (let at = 0; at < stream.length; ) {
        const size = Math.floor(prng.next() * 40);
        chunks.push(stream.subarray(at, at + size));
        at += size;
      }
      expect(decodeAll(chunks)).toEqual(messages);
    }
  });

  test("decodes 100,000 frames in one chunk, payloads not sharing the chunk", () => {
    const count = 100_000;
    const values = Array.from({ length: count }, (_, seq) => ({
      type: "data",
      seq,
      payload: new Uint8Array([seq & 255]),
    }));
    const chunk = encodeFrames(values);
    const decoded = decodeAll([chunk]) as typeof values;
    expect(decoded.length).toBe(count);
    for (let i = 0; i < count; i++) {
      const value = decoded[i]!;
      if (value.seq !== i || value.payload[0] !== (i & 255) || value.payload.buffer === chunk.buffer) {
        throw new Error(`frame ${i}: expected seq ${i}, got ${JSON.stringify(value)}`);
      }
    }
  });

  test("a length over the limit fails from the header alone, before any body arrives", () => {
    const decoder = new FrameDecoder(1024);
    decoder.push(header(1025));
    const error = failure(() => decoder.next());
    expect(isMqraftError(error, "FRAME_TOO_LARGE")).toBe(true);
    // the failure is final: later bytes are ignored and the same error is thrown again
    decoder.push(encodeFrame("ok"));
    expect(failure(() => decoder.next())).toBe(error);
  });

  test("the default limit is 16 MiB and a frame exactly at the limit is accepted", () => {
    const decoder = new FrameDecoder();
    decoder.push(header(16 * 1024 * 1024 + 1));
    expect(
      isMqraftError(
        failure(() => decoder.next()),
        "FRAME_TOO_LARGE",
      ),
    ).toBe(true);

    const limit = 64;
    // a byte string with a one-byte length that fills the frame
    const body = new Uint8Array(limit);
    body[0] = 0x58;
    body[1] = limit - 2;
    const exact = new FrameDecoder(limit);
    exact.push(concat(header(limit), body));
    expect(exact.next()).toEqual(new Uint8Array(limit - 2));
  });

  test("bytes that are not CBOR fail with BAD_FRAME, also after good frames", () => {
    const decoder = new FrameDecoder();
    decoder.push(concat(encodeFrame({ ok: 1 }), header(3), new Uint8Array([0xff, 0xfe, 0xfd])));
    expect(decoder.next()).toEqual({ ok: 1 });
    expect(
      isMqraftError(
        failure(() => decoder.next()),
        "BAD_FRAME",
      ),
    ).toBe(true);
  });

  test("a frame holding two CBOR values, or a truncated one, is BAD_FRAME", () => {
    for (const body of [
      [0x01, 0x02],
      [0x63, 0x61],
    ]) {
      const decoder = new FrameDecoder();
      decoder.push(concat(header(body.length), new Uint8Array(body)));
      expect(
        isMqraftError(
          failure(() => decoder.next()),
          "BAD_FRAME",
        ),
      ).toBe(true);
    }
  });

  test("an empty frame is BAD_FRAME", () => {
    const decoder = new FrameDecoder();
    decoder.push(header(0));
    expect(
      isMqraftError(
        failure(() => decoder.next()),
        "BAD_FRAME",
      ),
    ).toBe(true);
  });

  test("a nesting bomb frame is BAD_FRAME", () => {
    const bomb = new Uint8Array(1_000_000).fill(0x81);
    const decoder = new FrameDecoder();
    decoder.push(concat(header(bomb.length), bomb));
    const error = failure(() => decoder.next());
    expect(isMqraftError(error, "BAD_FRAME")).toBe(true);
  });

  test("counts buffered bytes until they are decoded", () => {
    const decoder = new FrameDecoder();
    const frame = encodeFrame({ a: 1 });
    decoder.push(frame.subarray(0, 5));
    expect(decoder.next()).toBe(NEED_MORE);
    expect(decoder.bufferedBytes).toBe(1);
    decoder.push(frame.subarray(5));
    expect(decoder.next()).toEqual({ a: 1 });
    expect(decoder.bufferedBytes).toBe(0);
  });

  test("a large frame arriving in many tiny chunks decodes in linear time: its bytes are copied once", () => {
    const payload = new Uint8Array(2_000_000).map((_, i) => i % 251);
    const frame = encodeFrame(payload);
    const decoder = new FrameDecoder();
    // The work is counted, not timed: every byte a decoder copies goes through a typed array's set().
    let copied = 0;
    const set = Uint8Array.prototype.set;
    Uint8Array.prototype.set = function (this: Uint8Array, source: ArrayLike<number>, offset?: number) {
      copied += source.length;
      return set.call(this, source, offset);
    };
    let values: unknown[] = [];
    try {
      for (let at = 0; at < frame.length; at += 7) {
        decoder.push(frame.subarray(at, at + 7));
        // asked after every chunk, as a socket handler does: a decoder that rescans what it holds is quadratic
        const value = decoder.next();
        if (value !== NEED_MORE) values = [...values, value];
      }
    } finally {
      Uint8Array.prototype.set = set;
    }
    expect(values).toEqual([payload]);
    expect(copied).toBeLessThanOrEqual(frame.length);
  });
});
