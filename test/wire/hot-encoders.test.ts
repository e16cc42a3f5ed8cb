import { describe, expect, test } from "bun:test";
import { CborWriter } from "../../src/util/cbor-writer.ts";
import { decodeValue, encodeValue } from "../../src/wire/cbor.ts";
import { encodeHot } from "../../src/wire/hot-encoders.ts";

const data = (n: number): Uint8Array => Uint8Array.from({ length: n }, (_, i) => i & 0xff);

function hot(value: unknown): Uint8Array | undefined {
  const w = new CborWriter(8);
  return encodeHot(w, value) ? w.buffer.slice(0, w.at) : undefined;
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
    { type: "published", id: 7, topic: "t", offset: 0 },
    { type: "published", id: 7, topic: "t", offset: 300, duplicate: true },
    { type: "published", id: 7, offset: 300 },
    { type: "message", subscription: 1, topic: "t", offset: 2 ** 40, data: data(24) },
    { type: "append", from: 1, to: 2, term: 3, index: 0, logTerm: 0, entries: [], commit: 0 },
    {
      type: "append",
      from: 1,
      to: 3,
      term: 70_000,
      index: 2 ** 33,
      logTerm: 5,
      entries: [
        { index: 2 ** 33 + 1, term: 70_000, kind: 0, data: data(0) },
        { index: 2 ** 33 + 2, term: 70_000, kind: 1, data: data(90_000) },
      ],
      commit: 2 ** 33,
    },
  ])("%o: the bytes cbor-x gives", (value) => {
    expect(hot(value)).toEqual(new Uint8Array(encodeValue(value)));
    expect(decodeValue(hot(value) as Uint8Array)).toEqual(value);
  });

  test.each([
    { type: "hello", version: 1 },
    { type: "publish", id: 1, topic: "t", data: data(1), extra: 1 },
    { type: "publish", id: -1, topic: "t", data: data(1) },
    { type: "publish", id: 1.5, topic: "t", data: data(1) },
    { type: "publish", id: 1, topic: "é", data: data(1) },
    { type: "publish", id: 1, topic: "bad topic", data: data(1) },
    { type: "publish", id: 1, topic: "t", data: "text" },
    { type: "publish", id: 1, topic: "t", data: data(1), producer: undefined },
    { type: "published", id: 1, topic: "t", offset: 1, duplicate: 1 },
    { type: "message", subscription: 1, topic: "t", offset: 2 },
    {
      type: "append",
      from: 1,
      to: 2,
      term: 3,
      index: 0,
      logTerm: 0,
      entries: [{ index: 1, term: 3, kind: 0, data: data(1), extra: 1 }],
      commit: 0,
    },
    {
      type: "append",
      from: 1,
      to: 2,
      term: 3,
      index: 0,
      logTerm: 0,
      entries: [{ index: 1, term: 3, kind: 0 }],
      commit: 0,
    },
    { type: "append", from: 1, to: 2, term: 3, index: 0, logTerm: 0, entries: [], commit: -1 },
  ])("%o is left to cbor-x", (value) => {
    expect(hot(value)).toBeUndefined();
  });
});
