import { describe, expect, test } from "bun:test";
import { decodeCommand, decodeEntryMessages, encodeCommand } from "../../src/broker/command-codec.ts";
import type { Command } from "../../src/broker/commands.ts";
import { Encoder } from "../../src/util/cbor-x.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import { msg, T0 } from "./helpers.ts";

const plain = new Encoder({ useRecords: false, mapsAsObjects: true });

function thrownBy(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("command codec", () => {
  const commands: Command[] = [
    { type: "publish", time: T0, messages: [msg("a", "one"), msg("b", "two", "producer-1", 42)] },
    { type: "publish", time: 0, messages: [] },
    { type: "subscribe", time: T0, name: "s", topics: ["a", "b"], from: "earliest" },
    { type: "subscribe", time: T0, name: "s", topics: ["a"], from: 17 },
    { type: "unsubscribe", time: T0, name: "s" },
    { type: "ack", time: T0, name: "s", topic: "a", offset: 9 },
    { type: "config", time: T0, retention: { maxMessages: 10, maxBytes: 1 << 20, maxAgeMs: 3_600_000 } },
    { type: "config", time: T0, retention: {} },
  ];

  test.each(commands.map((c) => [c.type, c] as const))("%s round-trips", (_, command) => {
    expect(decodeCommand(encodeCommand(command))).toEqual(command);
  });

  test("publish messages travel as [topic, data] or [topic, data, producer, seq] with data as a plain byte string", () => {
    const bytes = encodeCommand({ type: "publish", time: T0, messages: [msg("a", "one"), msg("b", "two", "p", 3)] });
    const raw = plain.decode(bytes) as { messages: unknown[][] };
    expect(raw.messages.map((m) => m.length)).toEqual([2, 4]);
    expect(raw.messages[1]?.[1]).toBeInstanceOf(Uint8Array);
    expect(raw.messages[1]?.slice(2)).toEqual(["p", 3]);
    // "one" is preceded by a byte-string head of length 3 (0x43), not by CBOR tag 64 (0xd8 0x40).
    const at = Buffer.from(bytes).indexOf("one");
    expect([bytes[at - 3], bytes[at - 2], bytes[at - 1]]).not.toEqual([0xd8, 0x40, 0x43]);
    expect(bytes[at - 1]).toBe(0x43);
  });

  test("decodeCommand refuses what is not a valid command", () => {
    for (const bytes of [
      new Uint8Array([0xff]),
      plain.encode({ type: "publish", time: T0, messages: [["", new Uint8Array(1)]] }),
    ]) {
      const thrown = thrownBy(() => decodeCommand(bytes));
      expect(isMqraftError(thrown, "BAD_MESSAGE")).toBe(true);
    }
  });

  test("decodeEntryMessages gives each slot's message, undefined where a message was refused", () => {
    const entry = plain.encode({
      type: "publish",
      time: T0,
      messages: [
        ["a", new TextEncoder().encode("zero")],
        ["bad topic", new Uint8Array(1)],
        ["b", new Uint8Array([7]), "p", 5],
      ],
    });
    const messages = decodeEntryMessages(entry);
    expect(messages).toHaveLength(3);
    expect(messages[0]?.topic).toBe("a");
    expect(new TextDecoder().decode(messages[0]?.data)).toBe("zero");
    expect(messages[1]).toBeUndefined();
    expect(messages[2]).toEqual({ topic: "b", data: new Uint8Array([7]), producer: "p", seq: 5 });
    // Payloads are views into the entry, not copies.
    expect(messages[0]?.data.buffer === entry.buffer).toBe(true);
  });

  test("a group-ack, in each shape a leader proposes it, is the bytes cbor-x writes for it, and decodes back", () => {
    const base = { type: "group-ack", time: T0, group: "g", member: "bench-1", kind: "ack" } as const;
    const acks: Command[] = [
      { ...base, offsets: [], attempts: [] },
      { ...base, kind: "nak", offsets: [3, 70_000, 2 ** 32 + 5], attempts: [1, 2, 300] },
      { ...base, kind: "progress", offsets: [1], attempts: [1], ranges: [0, 256, 1, 2 ** 40, 24, 5], v: 4 },
      {
        ...base,
        group: "workers.eu-1",
        offsets: Array.from({ length: 1000 }, (_, i) => i),
        attempts: Array(1000).fill(1),
      },
    ];
    for (const ack of acks) {
      expect(encodeCommand(ack)).toEqual(new Uint8Array(plain.encode(ack)));
      expect(decodeCommand(encodeCommand(ack))).toEqual(ack);
    }
  });

  test("decodeEntryMessages refuses an entry that is not a publish", () => {
    const thrown = thrownBy(() => decodeEntryMessages(encodeCommand({ type: "unsubscribe", time: T0, name: "s" })));
    expect(isMqraftError(thrown, "BAD_MESSAGE")).toBe(true);
    expect(String(thrown)).toContain("not a publish entry");
  });
});
