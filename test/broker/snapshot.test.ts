import { describe, expect, test } from "bun:test";
import { Encoder } from "../../src/util/cbor-x.ts";
import { encodeCommand } from "../../src/broker/command-codec.ts";
import type { Command } from "../../src/broker/commands.ts";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import { msg, T0 } from "./helpers.ts";

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

/** Every query's answer, to compare two states by what they say. */
function observe(state: BrokerState) {
  return {
    appliedIndex: state.appliedIndex,
    time: state.time,
    retention: state.retention(),
    lowestNeededIndex: state.lowestNeededIndex(),
    durables: state.durables(),
    topics: state.topics().map((t) => ({ name: t, info: state.topicInfo(t), messages: state.scan(t, 0, 1_000_000) })),
  };
}

function busyState(): { state: BrokerState; later: Command[] } {
  const state = new BrokerState();
  const commands: Command[] = [
    { type: "config", time: T0, retention: { maxMessages: 50, maxAgeMs: 60_000 } },
    { type: "subscribe", time: T0, name: "s1", topics: ["a", "b"], from: "earliest" },
  ];
  for (let i = 0; i < 40; i++) {
    commands.push({
      type: "publish",
      time: T0 + i * 1000,
      messages: Array.from({ length: 5 }, (_, j) => msg(["a", "b", "c"][(i + j) % 3] as string, `${i}.${j}`, `p${j % 2}`, i * 5 + j)),
    });
    if (i % 7 === 0) commands.push({ type: "ack", time: T0 + i * 1000, name: "s1", topic: "a", offset: i });
  }
  commands.forEach((c, i) => state.apply(i + 1, encodeCommand(c)));
  const later: Command[] = [
    { type: "publish", time: T0 + 41_000, messages: [msg("a", "retry", "p0", 3), msg("d", "new", "p9", 0)] },
    { type: "publish", time: T0 + 90_000, messages: [msg("b", "aging")] },
    { type: "subscribe", time: T0 + 90_000, name: "s2", topics: ["c"], from: "latest" },
    { type: "unsubscribe", time: T0 + 91_000, name: "s1" },
    { type: "publish", time: T0 + 400_000, messages: [msg("a", "late", "p0", 3), msg("a", "late", "p1", 500)] },
  ];
  return { state, later };
}

describe("snapshot and restore", () => {
  test("restore(snapshot(x)) answers every query as x does and snapshots to the same bytes", () => {
    const { state } = busyState();
    const bytes = state.snapshot();
    const restored = BrokerState.restore(bytes);
    expect(observe(restored)).toEqual(observe(state));
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(bytes))).toBe(true);
  });

  test("after a restore both go on to give the same results and the same state", () => {
    const { state, later } = busyState();
    const restored = BrokerState.restore(state.snapshot());
    for (const command of later) {
      const index = state.appliedIndex + 1;
      const data = encodeCommand(command);
      expect(restored.apply(index, data)).toEqual(state.apply(index, data));
    }
    expect(observe(restored)).toEqual(observe(state));
    expect(Buffer.from(restored.snapshot()).equals(Buffer.from(state.snapshot()))).toBe(true);
    // The sequence above exercised dedup, age retention, subscribe and unsubscribe after the restore.
    expect(state.durable("s1")).toBeUndefined();
    expect(state.topicInfo("d")).toEqual({ firstOffset: 1, nextOffset: 1, bytes: 0, messages: 0 });
  });

  test("an empty state round-trips", () => {
    const state = new BrokerState();
    const restored = BrokerState.restore(state.snapshot());
    expect(observe(restored)).toEqual(observe(state));
  });

  test("bytes that are not a snapshot are refused as CORRUPT", () => {
    const { state } = busyState();
    const good = cbor.decode(state.snapshot()) as Record<string, unknown>;
    const topics = good.topics as { logIndex: Uint8Array; slot: Uint8Array }[];
    const first = topics[0] as { logIndex: Uint8Array; slot: Uint8Array };
    const reversed = new Float64Array(new Uint8Array(first.logIndex).buffer).reverse();
    const cases: [string, unknown][] = [
      ["version", { ...good, version: 2 }],
      ["missing field", { ...good, durables: undefined }],
      ["column length", { ...good, topics: [{ ...first, slot: first.slot.subarray(1) }, ...topics.slice(1)] }],
      ["log index order", { ...good, topics: [{ ...first, logIndex: new Uint8Array(reversed.buffer) }, ...topics.slice(1)] }],
      ["duplicate topic", { ...good, topics: [first, first] }],
    ];
    const refusals = cases.map(([what, value]) => {
      try {
        BrokerState.restore(cbor.encode(value));
        return `${what}: restored`;
      } catch (e) {
        return isMqraftError(e, "CORRUPT") ? `${what}: CORRUPT` : `${what}: ${String(e)}`;
      }
    });
    expect(refusals).toEqual(cases.map(([what]) => `${what}: CORRUPT`));
    let thrown: unknown;
    try {
      BrokerState.restore(new Uint8Array([0xff, 0x00, 0x13]));
    } catch (e) {
      thrown = e;
    }
    expect(isMqraftError(thrown, "CORRUPT")).toBe(true);
  });
});
