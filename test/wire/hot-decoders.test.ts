import { describe, expect, test } from "bun:test";
import { isMqraftError } from "../../src/util/errors.ts";
import { createPrng } from "../../src/util/prng.ts";
import { decodeValue, encodeValue } from "../../src/wire/cbor.ts";
import { readHot } from "../../src/wire/hot-decoders.ts";
import { createMessageParser, type MessageParser } from "../../src/wire/messages/parse.ts";
import { ClientInboundSchema, ServerInboundSchema } from "../../src/wire/messages/unions.ts";
import { appends, data, hotMessage } from "./hot-messages.ts";

type AnyParser = MessageParser<unknown>;
const server = createMessageParser(ServerInboundSchema) as AnyParser;
const client = createMessageParser(ClientInboundSchema) as AnyParser;

/** What the generic path (cbor-x, then the schema) makes of the same bytes. */
function generic(bytes: Uint8Array, parse: AnyParser): unknown {
  const result = parse(decodeValue(bytes));
  return isMqraftError(result) ? "refused" : result;
}

describe("hot decoders", () => {
  const valid = [
    { type: "publish", id: 0, topic: "t", data: data(0) },
    {
      type: "publish",
      id: 2 ** 53 - 1,
      topic: "a/b.c:d-e_f",
      data: data(300),
      producer: "p-0123456789abcdef",
      seq: 4_294_967_296,
    },
    { type: "publish", id: 1, seq: 3, data: data(5), topic: "t" },
    { type: "publish", id: 2, topic: "t", data: data(5), producer: "p", seq: 0, epoch: 7 },
    { type: "published", id: 7, topic: "t", offset: 0 },
    { type: "published", id: 7, topic: "t", offset: 300, duplicate: false },
    { type: "message", subscription: 1, topic: "t", offset: 2 ** 40, data: data(24) },
    { type: "group-message", subscription: 2, topic: "jobs", offset: 5, attempt: 1, data: data(3), time: 1 },
    { type: "group-messages", subscription: 2, messages: [] },
    {
      type: "group-messages",
      subscription: 3,
      messages: [
        { topic: "jobs", offset: 5, attempt: 1, data: data(3), time: 1_765_000_000_000 },
        { topic: "温度.a", offset: 2 ** 40, attempt: 2, data: data(0), headers: [["k", "v"]], key: 9 },
      ],
    },
    ...appends(9_000),
  ];
  const parserFor = (type: unknown): AnyParser => (type === "publish" || type === "append" ? server : client);

  test.each(valid)("%o reads as the generic path gives it", (value) => {
    const bytes = encodeValue(value);
    const hot = readHot(bytes);
    expect(hot).toEqual(value);
    const parse = parserFor(value.type);
    expect(parse.hot?.(hot as { type: string })).toEqual(generic(bytes, parse) as never);
  });

  test("a payload read is a copy", () => {
    const bytes = encodeValue({ type: "publish", id: 1, topic: "t", data: data(10) });
    const hot = readHot(bytes) as { data: Uint8Array };
    bytes.fill(0);
    expect(hot.data).toEqual(data(10));
    expect(hot.data.constructor).toBe(Uint8Array);
  });

  test("with publishViews a publish's payload is a view into the frame; other payloads are still copies", () => {
    const publish = encodeValue({ type: "publish", id: 1, topic: "t", data: data(10) });
    const delivery = encodeValue({ type: "message", subscription: 1, topic: "t", offset: 0, data: data(10) });
    const viewed = readHot(publish, true) as { data: Uint8Array };
    const copied = readHot(delivery, true) as { data: Uint8Array };
    publish.fill(0);
    delivery.fill(0);
    expect(viewed.data).toEqual(new Uint8Array(10));
    expect(copied.data).toEqual(data(10));
  });

  test("a group-messages push with a bad message is refused naming it, by the hot and the generic path alike", () => {
    const good = { topic: "jobs", offset: 1, attempt: 1, data: data(2) };
    for (const [bad, field] of [
      [{ ...good, data: "text" }, "data"],
      [{ ...good, attempt: -1 }, "attempt"],
      [{ ...good, topic: "bad topic" }, "topic"],
    ] as const) {
      const bytes = encodeValue({ type: "group-messages", subscription: 1, messages: [good, bad] });
      expect(readHot(bytes)).toBeUndefined();
      const refused = client(decodeValue(bytes));
      expect(isMqraftError(refused, "BAD_MESSAGE")).toBe(true);
      expect((refused as Error).message).toContain(`messages.1.${field}`);
    }
  });

  test("a payload of a group-messages push is a copy, each its own", () => {
    const bytes = encodeValue({
      type: "group-messages",
      subscription: 1,
      messages: [1, 2].map((offset) => ({ topic: "t", offset, attempt: 1, data: data(10) })),
    });
    const hot = readHot(bytes, true) as { messages: { data: Uint8Array }[] };
    bytes.fill(0);
    for (const m of hot.messages) expect(m.data).toEqual(data(10));
    expect(hot.messages[0]?.data.buffer).not.toBe(hot.messages[1]?.data.buffer);
  });

  test("a hot message of a type this side does not receive is refused", () => {
    const hot = readHot(encodeValue({ type: "publish", id: 1, topic: "t", data: data(1) })) as { type: string };
    expect(isMqraftError(client.hot?.(hot), "BAD_MESSAGE")).toBe(true);
  });

  test.each([
    { type: "publish", id: 1, topic: "t", data: data(1), extra: 1 },
    { type: "publish", id: -1, topic: "t", data: data(1) },
    { type: "publish", id: 1.5, topic: "t", data: data(1) },
    { type: "publish", id: 2 ** 53, topic: "t", data: data(1) },
    { type: "publish", id: 1, topic: "a>", data: data(1) },
    { type: "publish", id: 1, topic: "温".repeat(86), data: data(1) },
    { type: "publish", id: 1, topic: "é", data: data(1), producer: "é" },
    { type: "publish", id: 1, topic: "", data: data(1) },
    { type: "publish", id: 1, topic: "bad topic", data: data(1) },
    { type: "publish", id: 1, topic: "t", data: "text" },
    { type: "publish", id: 1, topic: "t" },
    { type: "publish", id: 1, topic: "t", data: data(1), producer: null },
    { type: "publish", id: 1, topic: "t", data: data(1), duplicate: true },
    { type: "published", id: 1, topic: "t", offset: 1, duplicate: 1 },
    { type: "message", subscription: 1, topic: "t", offset: 2 },
    { type: "hello", version: 1 },
    { type: "launch", id: 1 },
    { id: 1, type: "publish", topic: "t", data: data(1) },
    {
      type: "append",
      from: 1,
      to: 2,
      term: 3,
      index: 0,
      logTerm: 0,
      entries: [{ index: 1, term: 3, kind: 2, data: data(1) }],
      commit: 0,
    },
    {
      type: "append",
      from: 1,
      to: 2,
      term: 3,
      index: 0,
      logTerm: 0,
      entries: [{ index: 1, term: 3, data: data(1) }],
      commit: 0,
    },
    { type: "append", from: 1, to: 2, term: 3, index: 0, logTerm: 0, entries: {}, commit: 0 },
  ])("%o is left to the generic path", (value) => {
    expect(readHot(encodeValue(value))).toBeUndefined();
  });

  test("entries of an append read are copies", () => {
    const bytes = encodeValue(valid[valid.length - 1]);
    const hot = readHot(bytes, true) as { entries: { data: Uint8Array }[] };
    bytes.fill(0);
    expect(hot.entries[1]!.data).toEqual(data(9_000));
  });

  test("seeded: any hot message as cbor-x writes it, valid or not, is either read exactly as the generic path reads it, or left to it", () => {
    const prng = createPrng(23);
    let read = 0;
    for (let round = 0; round < 20_000; round++) {
      const value = hotMessage(prng);
      const bytes = encodeValue(value);
      const hot = readHot(bytes);
      if (hot === undefined) continue;
      read++;
      const parse = parserFor(value.type);
      expect(parse.hot?.(hot as { type: string })).toEqual(generic(bytes, parse) as never);
    }
    expect(read).toBeGreaterThan(5_000);
  });

  test("damaged frames are either read exactly as the generic path reads them, or left to it (seeded)", () => {
    const prng = createPrng(7);
    const base = valid.map((value) => encodeValue(value));
    for (let round = 0; round < 20_000; round++) {
      const bytes = (base[round % base.length] as Uint8Array).slice();
      const flips = 1 + Math.floor(prng.next() * 3);
      for (let f = 0; f < flips; f++) bytes[Math.floor(prng.next() * bytes.length)] = Math.floor(prng.next() * 256);
      const cut = prng.next() < 0.2 ? bytes.subarray(0, Math.floor(prng.next() * bytes.length)) : bytes;
      const hot = readHot(cut);
      if (hot === undefined) continue;
      expect(hot).toEqual(generic(cut, parserFor(hot.type)) as never);
    }
  });
});
