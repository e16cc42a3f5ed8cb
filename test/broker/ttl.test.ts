import { describe, expect, test } from "bun:test";
import type { PublishMessage } from "../../src/broker/commands.ts";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { applyNext, msg, publish, T0 } from "./helpers.ts";

const ttl = (topic: string, ms: number): PublishMessage => ({ ...msg(topic), ttl: ms });
const expired = (state: BrokerState, topic: string) =>
  state.scan(topic, 0, 100).map((m) => `${m.offset}${m.expired ? "x" : ""}`);

describe("per-message TTL", () => {
  test("an expired message is marked never to deliver, and dropped once it is the oldest", () => {
    const state = new BrokerState();
    publish(state, T0, ttl("t", 1000), msg("t"), ttl("t", 500), msg("t"));
    expect(expired(state, "t")).toEqual(["0", "1", "2", "3"]);
    // 600 ms on: offset 2 has expired but offset 1 (no TTL) is older, so it stays, undelivered
    publish(state, T0 + 600, msg("u"));
    expect(expired(state, "t")).toEqual(["0", "1", "2x", "3"]);
    // 1000 ms on: offset 0 expires and is the oldest: it goes
    publish(state, T0 + 1000, msg("u"));
    expect(state.topicInfo("t")).toMatchObject({ firstOffset: 1, messages: 3 });
    expect(expired(state, "t")).toEqual(["1", "2x", "3"]);
  });

  test("an expired message behind the oldest goes as soon as what is before it goes (a purge, a count limit)", () => {
    const state = new BrokerState();
    publish(state, T0, msg("t"), ttl("t", 100), ttl("t", 100), msg("t"));
    publish(state, T0 + 200, msg("u"));
    expect(expired(state, "t")).toEqual(["0", "1x", "2x", "3"]);
    applyNext(state, { type: "purge", time: T0 + 200, topic: "t", keep: 3 });
    expect(state.topicInfo("t")).toMatchObject({ firstOffset: 3, messages: 1 });
    publish(state, T0 + 300, msg("v"), ttl("v", 50), ttl("v", 50), msg("v"), msg("v"));
    applyNext(state, { type: "config", time: T0 + 400, retention: { maxMessages: 4 } });
    expect(state.topicInfo("v")).toMatchObject({ firstOffset: 3, messages: 2 });
  });

  test("expiry times survive a snapshot", () => {
    const state = new BrokerState();
    publish(state, T0, msg("t"), ttl("t", 1000), ttl("t", 5000));
    const restored = BrokerState.restore(state.snapshot());
    publish(restored, T0 + 1000, msg("u"));
    expect(expired(restored, "t")).toEqual(["0", "1x", "2"]);
    applyNext(restored, { type: "purge", time: T0 + 1000, topic: "t", keep: 2 });
    expect(restored.topicInfo("t")).toMatchObject({ firstOffset: 2, messages: 1 });
    publish(restored, T0 + 5000, msg("u"));
    expect(restored.topicInfo("t")).toMatchObject({ firstOffset: 3, messages: 0 });
    expect(BrokerState.restore(restored.snapshot()).topicInfo("t")).toMatchObject({ firstOffset: 3, messages: 0 });
  });

  test("nextTimeChange: when the time moving on would expire or age out a message; a tick applies it", () => {
    const state = new BrokerState();
    expect(state.nextTimeChange()).toBe(Infinity);
    publish(state, T0, msg("t"), ttl("t", 500), msg("u"), ttl("u", 300));
    // the earliest expiry, also of a message behind one without a TTL (it is no longer delivered then)
    expect(state.nextTimeChange()).toBe(T0 + 300);
    expect(applyNext(state, { type: "tick", time: T0 + 300 })).toEqual([{ type: "tick" }]);
    expect(state.time).toBe(T0 + 300);
    expect(expired(state, "u")).toEqual(["0", "1x"]);
    expect(state.nextTimeChange()).toBe(T0 + 500);
    applyNext(state, { type: "tick", time: T0 + 500 });
    expect(expired(state, "t")).toEqual(["0", "1x"]);
    // what has expired behind an older message cannot change again: no further tick is wanted
    expect(state.nextTimeChange()).toBe(Infinity);
    // the age limit: the oldest message's time plus maxAgeMs
    applyNext(state, { type: "config", time: T0 + 600, retention: { maxAgeMs: 1000 } });
    expect(state.nextTimeChange()).toBe(T0 + 1000);
    applyNext(state, { type: "tick", time: T0 + 1000 });
    expect(state.topicInfo("t")).toMatchObject({ firstOffset: 2, messages: 0 });
    expect(state.nextTimeChange()).toBe(Infinity);
    // a tick older than the state's time changes nothing (time never goes back)
    applyNext(state, { type: "tick", time: T0 });
    expect(state.time).toBe(T0 + 1000);
  });

  test("a TTL of 0 is refused", () => {
    const state = new BrokerState();
    const [result] = publish(state, T0, ttl("t", 0));
    expect(result).toMatchObject({ type: "error", code: "BAD_MESSAGE" });
  });
});
