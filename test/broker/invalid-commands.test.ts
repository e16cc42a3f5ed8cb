import { describe, expect, test } from "bun:test";
import { encodeCommand } from "../../src/broker/command-codec.ts";
import type { Command } from "../../src/broker/commands.ts";
import type { ApplyResult } from "../../src/broker/results.ts";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { Encoder } from "../../src/util/cbor-x.ts";
import { expectError, msg, publish, T0 } from "./helpers.ts";

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

/** A state with some of everything, built the same way each time. */
function seeded(): BrokerState {
  const state = new BrokerState();
  state.applyCommand(1, { type: "config", time: T0, retention: { maxMessages: 100 } });
  publish(state, T0, msg("t", "a", "p", 1), msg("u", "b"));
  state.applyCommand(3, { type: "subscribe", time: T0, name: "s", topics: ["t"], from: "earliest" });
  return state;
}

/** `bad` at the next index must leave the state as a no-op entry would. */
function expectNoChange(bad: (state: BrokerState, index: number) => void): void {
  const refused = seeded();
  const untouched = seeded();
  bad(refused, 4);
  untouched.apply(4, new Uint8Array(0));
  expect(Buffer.from(refused.snapshot()).equals(Buffer.from(untouched.snapshot()))).toBe(true);
}

const longName = "x".repeat(256);
const invalidEntries: [string, unknown][] = [
  ["no type", { time: T0 }],
  ["no time", { type: "unsubscribe", name: "s" }],
  ["negative time", { type: "unsubscribe", time: -1, name: "s" }],
  ["fractional time", { type: "publish", time: T0 + 0.5, messages: [] }],
  ["time as text", { type: "unsubscribe", time: String(T0), name: "s" }],
  ["messages not a list", { type: "publish", time: T0, messages: "t" }],
  ["empty subscription name", { type: "unsubscribe", time: T0, name: "" }],
  ["subscription name with a space", { type: "subscribe", time: T0, name: "a b", topics: ["t"], from: "earliest" }],
  ["no topics", { type: "subscribe", time: T0, name: "n", topics: [], from: "earliest" }],
  ["bad start", { type: "subscribe", time: T0, name: "n", topics: ["t"], from: "middle" }],
  ["ack offset negative", { type: "ack", time: T0, name: "s", topic: "t", offset: -1 }],
  ["config without retention", { type: "config", time: T0 }],
  ["not a map", [1, 2, 3]],
];

describe("invalid commands", () => {
  test.each(invalidEntries)("%s: one BAD_MESSAGE result and no change", (_, value) => {
    let results: unknown;
    expectNoChange((state, index) => {
      results = state.apply(index, cbor.encode(value));
    });
    expectError(results as never, "BAD_MESSAGE", "invalid command");
  });

  test("bytes that are not CBOR: one BAD_MESSAGE result and no change", () => {
    let results: unknown;
    expectNoChange((state, index) => {
      results = state.apply(index, new Uint8Array([0x1c, 0xff, 0xfe]));
    });
    expectError(results as never, "BAD_MESSAGE", "not CBOR");
  });

  test("applyCommand checks a typed command as apply checks bytes", () => {
    let results: unknown;
    expectNoChange((state, index) => {
      results = state.applyCommand(index, { type: "unsubscribe", time: T0, name: longName });
    });
    expectError(results as never, "BAD_MESSAGE", "subscription name");
  });

  const badMessages: [string, unknown, string][] = [
    ["empty topic", ["", new Uint8Array(1)], "messages[1]: topic: expected a topic name"],
    ["topic with whitespace", ["a b", new Uint8Array(1)], "messages[1]: topic: expected a topic name"],
    ["topic with a control character", ["a\u0007", new Uint8Array(1)], "messages[1]: topic: expected a topic name"],
    ["topic of 256 characters", [longName, new Uint8Array(1)], "messages[1]: topic: expected a topic name"],
    ["data as text", ["t", "text"], "messages[1]: data: expected a byte string"],
    ["three items, the third not extras", ["t", new Uint8Array(1), "p"], "messages[1]: extras: "],
    ["extras with an unknown field", ["t", new Uint8Array(1), { colour: "red" }], "messages[1]: extras: "],
    ["headers with an upper-case key", ["t", new Uint8Array(1), { headers: [["Key", "v"]] }], "messages[1]: extras: "],
    ["eight items", ["t", new Uint8Array(1), "p", 1, 1, 1, {}, 1], "messages[1]: expected [topic, data, extras?]"],
    ["negative seq", ["t", new Uint8Array(1), "p", -4], "messages[1]: seq: expected a number of at least 0"],
    ["producer with a space", ["t", new Uint8Array(1), "p q", 4], "messages[1]: producer: expected a producer id"],
    [
      "a map instead of a tuple",
      { topic: "t", data: new Uint8Array(1) },
      "messages[1]: expected [topic, data, extras?]",
    ],
  ];

  test.each(badMessages)("a batch refuses only its invalid message (%s)", (_, bad, reason) => {
    const state = new BrokerState();
    const entry = cbor.encode({
      type: "publish",
      time: T0,
      messages: [["t", new Uint8Array(1)], bad, ["t", new Uint8Array(2)]],
    });
    const results = state.apply(1, entry);
    expect(results[0]).toEqual({ type: "publish", topic: "t", offset: 0 });
    expect(results[1]).toMatchObject({ type: "error", code: "BAD_MESSAGE" });
    expect((results[1] as { message: string }).message).toStartWith(reason);
    expect(results[2]).toEqual({ type: "publish", topic: "t", offset: 1 });
    expect(state.topicInfo("t")).toEqual({ firstOffset: 0, nextOffset: 2, bytes: 3, messages: 2 });
    expect(state.locate("t", 1)).toEqual({ index: 1, slot: 2 });
  });

  test("a topic name may use letters, digits and . _ - / : up to 255 characters", () => {
    const state = new BrokerState();
    const names = ["a", "orders.eu-west/2024:q1_x", "x".repeat(255), "UPPER", "0"];
    const results = state.applyCommand(1, { type: "publish", time: T0, messages: names.map((t) => msg(t)) });
    expect(results.map((r) => r.type)).toEqual(names.map(() => "publish"));
  });

  test("refusals by state (unknown subscription) change nothing but the clock", () => {
    const state = seeded();
    const command: Command = { type: "ack", time: T0 + 5, name: "nobody", topic: "t", offset: 0 };
    expectError(state.apply(4, encodeCommand(command)), "NOT_FOUND");
    expect(state.time).toBe(T0 + 5);
    expect(state.durables()).toEqual([{ name: "s", positions: [{ topic: "t", position: 0 }] }]);
  });

  test("applyCommand(c) and apply(encodeCommand(c)) store the same and refuse the same", () => {
    const data = new Uint8Array(3);
    const command: Command = {
      type: "publish",
      time: T0,
      messages: [
        { topic: "t", data, producer: "p", seq: 1 },
        { topic: "t", data, producer: "p" },
        { topic: "t", data, seq: 2 },
        { topic: "bad topic", data },
        { topic: "t", data, producer: "p", seq: 1 },
        { topic: "t", data },
      ],
    };
    const typed = new BrokerState();
    const encoded = new BrokerState();
    const kinds = (results: ApplyResult[]) => results.map((r) => (r.type === "error" ? r.code : JSON.stringify(r)));
    expect(kinds(encoded.apply(1, encodeCommand(command)))).toEqual(kinds(typed.applyCommand(1, command)));
    expect(Buffer.from(encoded.snapshot()).equals(Buffer.from(typed.snapshot()))).toBe(true);
    expect(typed.topicInfo("t")?.messages).toBe(2);
  });
});
