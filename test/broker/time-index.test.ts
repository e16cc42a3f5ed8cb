import { describe, expect, test } from "bun:test";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { applyNext, msg, publish, T0 } from "./helpers.ts";

describe("finding the first message at or after a time", () => {
  test("a binary search over the time column, right across retention and a snapshot", () => {
    const state = new BrokerState();
    // offsets 0..29, three per second: offset k stored at T0 + 1000 * floor(k / 3)
    for (let s = 0; s < 10; s++) publish(state, T0 + 1000 * s, msg("t"), msg("t"), msg("t"));
    expect(state.offsetAtTime("t", 0)).toBe(0);
    expect(state.offsetAtTime("t", T0)).toBe(0);
    expect(state.offsetAtTime("t", T0 + 1)).toBe(3);
    expect(state.offsetAtTime("t", T0 + 4000)).toBe(12);
    expect(state.offsetAtTime("t", T0 + 9000)).toBe(27);
    expect(state.offsetAtTime("t", T0 + 9001)).toBe(30);
    expect(state.offsetAtTime("never", T0)).toBe(0);
    applyNext(state, { type: "config", time: T0 + 9000, retention: { maxMessages: 20 } });
    expect(state.topicInfo("t")?.firstOffset).toBe(10);
    expect(state.offsetAtTime("t", T0)).toBe(10);
    expect(state.offsetAtTime("t", T0 + 4000)).toBe(12);
    const restored = BrokerState.restore(state.snapshot());
    for (const at of [0, T0, T0 + 3500, T0 + 4000, T0 + 8999, T0 + 9000, T0 + 10_000])
      expect([at, restored.offsetAtTime("t", at)]).toEqual([at, state.offsetAtTime("t", at)]);
  });

  test("a durable subscription can start at a time", () => {
    const state = new BrokerState();
    for (let s = 0; s < 4; s++) publish(state, T0 + 1000 * s, msg("a"), msg("b"));
    applyNext(state, {
      type: "subscribe",
      time: T0 + 5000,
      name: "d",
      topics: ["a", "b", "c"],
      from: { time: T0 + 2000 },
    });
    expect(state.durable("d")?.positions).toEqual([
      { topic: "a", position: 2 },
      { topic: "b", position: 2 },
      { topic: "c", position: 0 },
    ]);
  });
});
