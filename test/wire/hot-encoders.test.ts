import { describe, expect, test } from "bun:test";
import * as v from "valibot";
import { CborWriter } from "../../src/util/cbor-writer.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import { createPrng } from "../../src/util/prng.ts";
import { decodeValue, encodeValue } from "../../src/wire/cbor.ts";
import { encodeFrame } from "../../src/wire/frame-encoder.ts";
import { readHot } from "../../src/wire/hot-decoders.ts";
import { encodeHot } from "../../src/wire/hot-encoders.ts";
import { HOT_SCHEMAS } from "../../src/wire/hot-fields.ts";
import { appends, data, hotMessage } from "./hot-messages.ts";

type Outcome = { bytes: Uint8Array } | { refused: string } | "not hot";

function hot(value: unknown): Outcome {
  const w = new CborWriter(8);
  w.raw(new Uint8Array([0xaa]));
  try {
    return encodeHot(w, value) ? { bytes: w.buffer.slice(1, w.at) } : "not hot";
  } catch (e) {
    // a refusal writes nothing
    expect(w.at).toBe(1);
    if (!isMqraftError(e, "BAD_MESSAGE")) throw e;
    return { refused: e.message };
  }
}

/** What the schema makes of `value`: cbor-x's bytes of the parsed message, or the refusal. */
function bySchema(value: { type: string }): { bytes: Uint8Array } | "refused" {
  const result = v.safeParse(HOT_SCHEMAS[value.type] as v.GenericSchema, value);
  return result.success ? { bytes: new Uint8Array(encodeValue(result.output)) } : "refused";
}

describe("hot encoders", () => {
  test.each([
    { type: "publish", id: 0, topic: "t", data: data(0) },
    {
      type: "publish",
      id: 70_000,
      topic: "a/b.c:d-e_f",
      data: data(128),
      producer: "p-0123456789abcdef",
      seq: 4_294_967_296,
    },
    { type: "publish", id: 1, topic: "t", data: data(70_000), seq: 3 },
    { type: "publish", id: 1, topic: "t", data: data(1), producer: undefined },
    { type: "published", id: 7, topic: "t", offset: 0 },
    { type: "published", id: 7, topic: "t", offset: 300, duplicate: true },
    { type: "message", subscription: 1, topic: "t", offset: 2 ** 40, data: data(24) },
    ...appends(90_000),
  ])("%o: the bytes cbor-x gives", (value) => {
    const out = hot(value);
    expect(out).toEqual({ bytes: new Uint8Array(encodeValue(value)) });
    expect(decodeValue((out as { bytes: Uint8Array }).bytes)).toEqual(value);
  });

  test("a property the schema does not know is not sent, as the schema drops it", () => {
    const value = { type: "published", extra: [1], id: 7, topic: "t", offset: 1 };
    expect(hot(value)).toEqual({
      bytes: new Uint8Array(encodeValue({ type: "published", id: 7, topic: "t", offset: 1 })),
    });
  });

  test.each([
    [{ type: "published", id: 7, offset: 300 }, "published.topic"],
    [{ type: "publish", id: -1, topic: "t", data: data(1) }, "publish.id"],
    [{ type: "publish", id: 1.5, topic: "t", data: data(1) }, "publish.id"],
    [{ type: "publish", id: 1, topic: "a*", data: data(1) }, "publish.topic"],
    [{ type: "publish", id: 1, topic: "温".repeat(86), data: data(1) }, "publish.topic"],
    [{ type: "publish", id: 1, topic: "é", data: data(1), producer: "é" }, "publish.producer"],
    [{ type: "publish", id: 1, topic: "bad topic", data: data(1) }, "publish.topic"],
    [{ type: "publish", id: 1, topic: "t", data: "text" }, "publish.data"],
    [{ type: "published", id: 1, topic: "t", offset: 1, duplicate: 1 }, "published.duplicate"],
    [{ type: "message", subscription: 1, topic: "t", offset: 2 }, "message.data"],
    [
      { type: "append", from: 1, to: 2, term: 3, index: 0, logTerm: 0, entries: [{ index: 1, term: 3 }], commit: 0 },
      "append.entries.0.kind",
    ],
    [{ type: "append", from: 1, to: 2, term: 3, index: 0, logTerm: 0, entries: [], commit: -1 }, "append.commit"],
    [
      {
        type: "append",
        from: 1,
        to: 2,
        term: 3,
        index: 0,
        logTerm: 0,
        // a hole is read as undefined
        entries: Object.assign(new Array(2), { 1: { index: 1, term: 3, kind: 0, data: data(1) } }),
        commit: 0,
      },
      "append.entries.0",
    ],
  ])("%o cannot be sent: BAD_MESSAGE naming %s", (value, field) => {
    const out = hot(value);
    expect(out).toEqual({ refused: expect.stringContaining(`cannot send ${field}:`) });
    expect(() => encodeFrame(value)).toThrow(`cannot send ${field}:`);
  });

  test("a message of another type is left to cbor-x", () => {
    expect(hot({ type: "hello", version: 1 })).toBe("not hot");
    expect(hot({ type: "status", id: 1 })).toBe("not hot");
  });

  test("seeded: every hot message is written as cbor-x writes what its schema makes of it, or refused exactly when the schema refuses it; the hot decoder reads back what was written", () => {
    const prng = createPrng(17);
    const counts = { written: 0, refused: 0 };
    for (let round = 0; round < 20_000; round++) {
      const value = hotMessage(prng) as { type: string };
      const out = hot(value);
      const expected = bySchema(value);
      if (expected === "refused") {
        if (out === "not hot" || !("refused" in out))
          throw new Error(`not refused although its schema refuses it: ${show(value)}`);
        counts.refused++;
        continue;
      }
      if (out === "not hot" || !("bytes" in out))
        throw new Error(`not written although its schema takes it: ${show(value)}`);
      const bytes = out.bytes;
      if (!Buffer.from(bytes).equals(Buffer.from(expected.bytes))) {
        throw new Error(
          `${show(value)}: ${Buffer.from(bytes).toString("hex")} instead of cbor-x's ${Buffer.from(expected.bytes).toString("hex")}`,
        );
      }
      expect(readHot(bytes)).toEqual(decodeValue(bytes) as Record<string, unknown>);
      counts.written++;
    }
    // both sides of the difference were exercised
    expect(counts.written).toBeGreaterThan(5_000);
    expect(counts.refused).toBeGreaterThan(5_000);
  });
});

function show(value: unknown): string {
  return JSON.stringify(value, (_, x) =>
    x instanceof Uint8Array ? `<${x.length} bytes>` : x === undefined ? "<undefined>" : x,
  );
}
