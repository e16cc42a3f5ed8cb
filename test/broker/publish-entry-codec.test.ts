import { describe, expect, test } from "bun:test";
import type { PublishMessage } from "../../src/broker/commands.ts";
import { encodePublishEntry, readPublishEntry } from "../../src/broker/publish-entry-codec.ts";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { Encoder } from "../../src/util/cbor-x.ts";

// what command-codec.ts wrote with cbor-x before the publish entry was written by hand
const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });
const byCborX = (time: number, messages: PublishMessage[]): Uint8Array =>
  cbor.encode({
    type: "publish",
    time,
    messages: messages.map((m) =>
      m.producer === undefined && m.seq === undefined ? [m.topic, m.data] : [m.topic, m.data, m.producer, m.seq],
    ),
  });

const bytes = (n: number): Uint8Array<ArrayBuffer> => Uint8Array.from({ length: n }, (_, i) => i & 0xff);

describe("publish entry codec", () => {
  const cases: [string, number, PublishMessage[]][] = [
    ["no message", 0, []],
    ["small time and sizes", 23, [{ topic: "a", data: bytes(0) }]],
    ["a time past 2^32 (a double)", 1_760_000_000_123, [{ topic: "t.1/x:y-z_", data: bytes(23) }]],
    [
      "producer and seq of every width",
      1_760_000_000_123,
      [
        { topic: "t", data: bytes(24), producer: "p", seq: 0 },
        { topic: "t", data: bytes(255), producer: "p-0123456789abcdef", seq: 255 },
        { topic: "u", data: bytes(256), producer: "p", seq: 65_535 },
        { topic: "u", data: bytes(70_000), producer: "p", seq: 4_294_967_295 },
        { topic: "u", data: bytes(5), producer: "p", seq: 4_294_967_296 },
      ],
    ],
    ["a 255-character topic", 5, [{ topic: "x".repeat(255), data: bytes(3) }]],
    [
      "Unicode topics, up to 255 bytes of UTF-8",
      5,
      [
        { topic: "温度/センサー", data: bytes(3) },
        { topic: "é.ü.😀", data: bytes(1), producer: "p", seq: 1 },
        { topic: "温".repeat(85), data: bytes(2) },
      ],
    ],
    ["many messages", 5, Array.from({ length: 70_000 }, (_, i) => ({ topic: `t${i % 7}`, data: bytes(i % 40) }))],
  ];

  test.each(cases)("%s: the same bytes as cbor-x, read back as written", (_, time, messages) => {
    const encoded = encodePublishEntry(time, messages);
    expect(encoded).toEqual(byCborX(time, messages));
    const read = readPublishEntry(encoded);
    expect(read?.time).toBe(time);
    expect(read?.messages).toEqual(
      messages.map((m) =>
        m.producer === undefined ? [m.topic, m.data] : [m.topic, m.data, m.producer, m.seq],
      ) as never,
    );
  });

  test.each(cases)("%s: the entry's buffer is at most an eighth larger than the entry", (_, time, messages) => {
    // the log store keeps its last entries as they are, and each pins its whole buffer
    const encoded = encodePublishEntry(time, messages);
    const spare = encoded.buffer.byteLength - encoded.length;
    if (spare > encoded.length >> 3) {
      throw new Error(`expected at most ${encoded.length >> 3} spare bytes behind ${encoded.length}, got ${spare}`);
    }
  });

  test("anything else is left to the generic decoder, which applies it the same way", () => {
    const odd: Uint8Array[] = [
      byCborX(5, [
        { topic: "bad topic", data: bytes(1) },
        { topic: "ok", data: bytes(1) },
      ]),
      byCborX(5, [{ topic: "ok", data: bytes(1), producer: "p" } as PublishMessage]),
      byCborX(5, [{ topic: "", data: bytes(1) }]),
      byCborX(5, [{ topic: "a*b", data: bytes(1) }]),
      byCborX(5, [{ topic: "orders.>", data: bytes(1) }]),
      byCborX(5, [{ topic: "é\u2028", data: bytes(1) }]),
      byCborX(5, [{ topic: "温\u3000度", data: bytes(1) }]),
      byCborX(5, [{ topic: "x".repeat(256), data: bytes(1) }]),
      byCborX(5, [{ topic: "温".repeat(86), data: bytes(1) }]),
      cbor.encode({ type: "publish", time: 5, messages: [["a", bytes(1)]], extra: 1 }),
      cbor.encode({ type: "publish", time: -1, messages: [] }),
      cbor.encode({ type: "publish", time: 1.5, messages: [] }),
      cbor.encode({ type: "publish", time: 5, messages: [["a", "text"]] }),
      new Uint8Array([...byCborX(5, []), 0]),
    ];
    for (const entry of odd) {
      expect(readPublishEntry(entry)).toBeUndefined();
      const state = new BrokerState();
      expect(state.apply(1, entry).length).toBeGreaterThan(0);
    }
    const truncated = byCborX(5, [{ topic: "ok", data: bytes(30) }]);
    for (let n = 0; n < truncated.length; n++) expect(readPublishEntry(truncated.subarray(0, n))).toBeUndefined();
  });

  test("messages with headers and a TTL: read by hand exactly as the generic decoder reads them", async () => {
    const { decodeEntryMessages, parseWireMessage } = await import("../../src/broker/command-codec.ts");
    const headers: [string, string][] = [
      ["content-type", "text/plain"],
      ["k", "温度"],
    ];
    const messages: PublishMessage[] = [
      { topic: "t", data: bytes(2), headers },
      { topic: "t", data: bytes(3) },
      { topic: "温度", data: bytes(1), producer: "p", seq: 0, epoch: 3, low: 0, headers, ttl: 70_000 },
      { topic: "u", data: bytes(1), producer: "p", seq: 1, ttl: 1 },
      { topic: "v", data: bytes(1), ttl: 2 ** 40 },
    ];
    const entry = encodePublishEntry(7, messages);
    expect(entry.buffer.byteLength - entry.length).toBeLessThanOrEqual(entry.length >> 3);
    const generic = (cbor.decode(entry) as { messages: unknown[] }).messages.map((m) => parseWireMessage(m));
    expect(readPublishEntry(entry)?.messages).toEqual(generic as never);
    expect(decodeEntryMessages(entry)).toEqual(messages);
    const state = new BrokerState();
    expect(state.apply(1, entry).map((r) => (r.type === "publish" ? `${r.topic}#${r.offset}` : r.type))).toEqual([
      "t#0",
      "t#1",
      "温度#0",
      "error",
      "v#0",
    ]);
  });

  test.each([
    ["an empty extras map", {}],
    ["an unknown key", { colour: "red" }],
    ["a TTL of 0", { ttl: 0 }],
    ["a fractional TTL", { ttl: 1.5 }],
    ["a header key in capitals", { headers: [["Key", "v"]] }],
    ["a header without a value", { headers: [["k"]] }],
    ["a key twice", { ttl: 1, headers: [["k", "v"]], extra: 1 }],
  ])("extras with %s are left to the generic decoder, which applies them the same way", (_, extras) => {
    for (const form of [
      ["t", bytes(1), extras],
      ["t", bytes(1), "p", 0, null, null, extras],
    ]) {
      const entry = cbor.encode({ type: "publish", time: 5, messages: [form] });
      expect(readPublishEntry(entry)).toBeUndefined();
      const state = new BrokerState();
      expect(state.apply(1, entry)).toHaveLength(1);
    }
  });

  test("names decoded from the cache are the right ones", () => {
    const topics = Array.from({ length: 20_000 }, (_, i) => `topic-${i}`);
    const entry = encodePublishEntry(
      1,
      topics.map((topic) => ({ topic, data: bytes(1) })),
    );
    for (let round = 0; round < 2; round++) expect(readPublishEntry(entry)?.messages.map((m) => m[0])).toEqual(topics);
  });
});

describe("isName and isTopic", () => {
  test("agree with the name and topic schemas", async () => {
    const v = await import("valibot");
    const { ProducerIdSchema, TopicSchema } = await import("../../src/util/names.ts");
    const { isName, isTopic } = await import("../../src/util/name-bytes.ts");
    const samples = [
      "a",
      "A-z_0.9/:",
      "",
      " ",
      "a b",
      "é",
      "x".repeat(255),
      "x".repeat(256),
      "a\n",
      "a\u0100",
      "\u0061\u030a",
      "t\0",
      "温度/センサー",
      "温".repeat(85),
      "温".repeat(86),
      "a*",
      "a.>",
      "\ud800",
    ];
    for (let c = 0; c < 0x3100; c++) samples.push(`t${String.fromCharCode(c)}`);
    for (const s of samples) {
      expect([s, isName(s)]).toEqual([s, v.is(ProducerIdSchema, s)]);
      expect([s, isTopic(s)]).toEqual([s, v.is(TopicSchema, s)]);
    }
  });
});
