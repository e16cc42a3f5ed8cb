import { describe, expect, test } from "bun:test";
import { decodeEntryMessages, encodeCommand } from "../../src/broker/command-codec.ts";
import { BrokerState, type ScannedMessage } from "../../src/broker/state-machine.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import { applyNext, msg, offsets, publish, T0 } from "./helpers.ts";

describe("topic offsets", () => {
  test("start at 0 and grow by one per message, per topic, with no gaps", () => {
    const state = new BrokerState();
    expect(offsets(publish(state, T0, msg("a"), msg("a"), msg("b")))).toEqual([0, 1, 0]);
    expect(offsets(publish(state, T0, msg("b"), msg("a"), msg("c"), msg("b")))).toEqual([1, 2, 0, 2]);
    expect(state.topics()).toEqual(["a", "b", "c"]);
    expect(state.topicInfo("a")).toEqual({ firstOffset: 0, nextOffset: 3, bytes: 3, messages: 3 });
    expect(state.topicInfo("b")).toEqual({ firstOffset: 0, nextOffset: 3, bytes: 3, messages: 3 });
    expect(state.topicInfo("missing")).toBeUndefined();
  });

  test("results come one per message, in slot order, naming the topic", () => {
    const state = new BrokerState();
    expect(publish(state, T0, msg("x"), msg("y"), msg("x"))).toEqual([
      { type: "publish", topic: "x", offset: 0 },
      { type: "publish", topic: "y", offset: 0 },
      { type: "publish", topic: "x", offset: 1 },
    ]);
  });

  test("locate and scan point at the log entry and slot holding each message", () => {
    const state = new BrokerState();
    publish(state, T0, msg("t", "m0"), msg("u", "u0"), msg("t", "m1"));
    const second = encodeCommand({ type: "publish", time: T0, messages: [msg("u", "u1"), msg("t", "m2")] });
    state.apply(5, second);

    expect(state.locate("t", 0)).toEqual({ index: 1, slot: 0 });
    expect(state.locate("t", 1)).toEqual({ index: 1, slot: 2 });
    expect(state.locate("t", 2)).toEqual({ index: 5, slot: 1 });
    expect(state.locate("t", 3)).toBe("future");
    expect(state.locate("never", 0)).toBe("future");
    expect(state.scan("t", 1, 10)).toEqual([
      { offset: 1, index: 1, slot: 2, time: T0, expired: false },
      { offset: 2, index: 5, slot: 1, time: T0, expired: false },
    ]);
    expect(state.scan("t", 0, 2).map((m) => m.offset)).toEqual([0, 1]);
    expect(state.scan("t", 3, 10)).toEqual([]);
    expect(state.scan("never", 0, 10)).toEqual([]);

    const where = state.locate("t", 2);
    if (typeof where === "string") throw new Error(`expected a location, got ${where}`);
    const stored = decodeEntryMessages(second)[where.slot];
    expect(new TextDecoder().decode(stored?.data)).toBe("m2");
  });

  test("visit goes over the retained messages of a range, as scan has them, and none outside it", () => {
    const state = new BrokerState();
    applyNext(state, { type: "config", time: T0, retention: { maxMessages: 12 } });
    // entries of several messages, other topics between, one message past its TTL: runs, gaps in slots, an expiry
    for (let entry = 0; entry < 6; entry++)
      publish(state, T0 + entry, msg("t", `${entry}a`), msg("u"), msg("t", `${entry}b`), { ...msg("t"), ttl: 3 });
    applyNext(state, { type: "tick", time: T0 + 10 });
    const all = state.scan("t", 0, 1_000);
    expect(all[0]?.offset).toBe(6);
    expect(all.some((m) => m.expired)).toBe(true);
    for (let from = 0; from <= 20; from++)
      for (let to = from; to <= 20; to++) {
        const seen: ScannedMessage[] = [];
        state.visit("t", from, to, {
          scanned: (offset, index, slot, time, expired) => seen.push({ offset, index, slot, time, expired }),
        });
        expect({ from, to, seen }).toEqual({ from, to, seen: all.filter((m) => m.offset >= from && m.offset < to) });
      }
    const none: number[] = [];
    state.visit("never", 0, 10, { scanned: (offset) => none.push(offset) });
    expect(none).toEqual([]);
  });

  test("an empty entry is the leader's no-op: no result, applied index moves", () => {
    const state = new BrokerState();
    expect(state.apply(1, new Uint8Array(0))).toEqual([]);
    expect(state.appliedIndex).toBe(1);
    expect(offsets(publish(state, T0, msg("a")))).toEqual([0]);
    expect(state.appliedIndex).toBe(2);
  });

  test("entries apply once each in increasing index order, gaps allowed", () => {
    const state = new BrokerState();
    state.apply(3, new Uint8Array(0));
    const entry = encodeCommand({ type: "publish", time: T0, messages: [msg("a")] });
    for (const index of [3, 2, 0, 1.5]) {
      let thrown: unknown;
      try {
        state.apply(index, entry);
      } catch (e) {
        thrown = e;
      }
      expect(isMqraftError(thrown, "INTERNAL")).toBe(true);
    }
    expect(state.topicInfo("a")).toBeUndefined();
    state.apply(7, entry);
    expect(state.appliedIndex).toBe(7);
    expect(state.locate("a", 0)).toEqual({ index: 7, slot: 0 });
  });

  test("queries refuse offsets that are not whole numbers", () => {
    const state = new BrokerState();
    expect(() => state.locate("a", -1)).toThrow("offset must be a whole number");
    expect(() => state.scan("a", 0.5, 1)).toThrow("offset must be a whole number");
  });

  test("a topic keeps its offsets across many growths of its index", () => {
    const state = new BrokerState();
    const topics = ["p", "q", "r"];
    const next = new Map(topics.map((t) => [t, 0]));
    for (let batch = 0; batch < 50; batch++) {
      const messages = Array.from({ length: 40 }, (_, i) => msg(topics[(batch + i) % 3] as string, `${batch}:${i}`));
      const results = publish(state, T0 + batch, ...messages);
      results.forEach((r, slot) => {
        const topic = messages[slot]?.topic as string;
        expect(r).toEqual({ type: "publish", topic, offset: next.get(topic) as number });
        next.set(topic, (next.get(topic) as number) + 1);
      });
    }
    for (const t of topics) {
      const info = state.topicInfo(t);
      expect(info?.nextOffset).toBe(next.get(t));
      const scanned = state.scan(t, 0, 10_000);
      expect(scanned.map((m) => m.offset)).toEqual(Array.from({ length: next.get(t) as number }, (_, i) => i));
    }
  });
});
