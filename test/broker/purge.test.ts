import { describe, expect, test } from "bun:test";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { applyNext, expectError, msg, offsets, publish, T0 } from "./helpers.ts";

describe("purge (mqraft topic purge)", () => {
  test("drops the oldest messages down to keep; offsets go on where they were", () => {
    const state = new BrokerState();
    publish(state, T0, ...["a", "bb", "ccc", "dddd", "eeeee"].map((b) => msg("t", b)));
    expect(applyNext(state, { type: "purge", time: T0 + 1, topic: "t", keep: 2 })).toEqual([
      { type: "purge", topic: "t", dropped: 3 },
    ]);
    expect(state.topicInfo("t")).toEqual({ firstOffset: 3, nextOffset: 5, bytes: 9, messages: 2 });
    expect(state.locate("t", 2)).toBe("dropped");
    expect(offsets(publish(state, T0 + 2, msg("t")))).toEqual([5]);
    expect(applyNext(state, { type: "purge", time: T0 + 3, topic: "t", keep: 0 })).toEqual([
      { type: "purge", topic: "t", dropped: 3 },
    ]);
    expect(state.topicInfo("t")).toEqual({ firstOffset: 6, nextOffset: 6, bytes: 0, messages: 0 });
  });

  test("a topic never published to is NOT_FOUND; keeping more than stored drops nothing", () => {
    const state = new BrokerState();
    expectError(applyNext(state, { type: "purge", time: T0, topic: "none", keep: 0 }), "NOT_FOUND", "none");
    publish(state, T0, msg("t"));
    expect(applyNext(state, { type: "purge", time: T0, topic: "t", keep: 5 })).toEqual([
      { type: "purge", topic: "t", dropped: 0 },
    ]);
  });

  test("age retention still expires the right messages after a purge emptied a topic, and a snapshot carries it", () => {
    const state = new BrokerState();
    applyNext(state, { type: "config", time: T0, retention: { maxAgeMs: 1000 } });
    publish(state, T0, msg("a"), msg("b"));
    applyNext(state, { type: "purge", time: T0 + 10, topic: "a", keep: 0 });
    publish(state, T0 + 500, msg("a"));
    publish(state, T0 + 1001, msg("c"));
    // b (stored at T0) is expired; a's message stored at T0 + 500 is not
    expect(state.topicInfo("b")?.messages).toBe(0);
    expect(state.topicInfo("a")).toMatchObject({ firstOffset: 1, messages: 1 });
    const copy = BrokerState.restore(state.snapshot());
    expect(copy.topicInfo("a")).toEqual(state.topicInfo("a"));
  });
});
