import { describe, expect, test } from "bun:test";
import type { Command } from "../../src/broker/commands.ts";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { applyNext, expectError, msg, publish, T0 } from "./helpers.ts";

function withMessages(counts: Record<string, number>): BrokerState {
  const state = new BrokerState();
  for (const [topic, count] of Object.entries(counts)) {
    publish(state, T0, ...Array.from({ length: count }, () => msg(topic)));
  }
  return state;
}

const subscribe = (name: string, topics: string[], from: "earliest" | "latest" | number): Command => ({
  type: "subscribe",
  time: T0,
  name,
  topics,
  from,
});
const ack = (name: string, topic: string, offset: number): Command => ({ type: "ack", time: T0, name, topic, offset });

describe("durable subscriptions", () => {
  test("subscribe starts each topic at earliest, latest or a clamped offset", () => {
    const state = withMessages({ a: 5, b: 2 });
    expect(applyNext(state, subscribe("early", ["a", "b", "new"], "earliest"))).toEqual([
      {
        type: "subscribe",
        name: "early",
        created: true,
        positions: [
          { topic: "a", position: 0 },
          { topic: "b", position: 0 },
          { topic: "new", position: 0 },
        ],
      },
    ]);
    expect(state.durable("early")?.positions.map((p) => p.position)).toEqual([0, 0, 0]);
    applyNext(state, subscribe("late", ["a", "b"], "latest"));
    expect(state.durable("late")?.positions).toEqual([
      { topic: "a", position: 5 },
      { topic: "b", position: 2 },
    ]);
    applyNext(state, subscribe("at3", ["a", "b"], 3));
    expect(state.durable("at3")?.positions.map((p) => p.position)).toEqual([3, 2]);
    expect(state.durables().map((d) => d.name)).toEqual(["early", "late", "at3"]);
    // A subscription does not create its topics.
    expect(state.topics()).toEqual(["a", "b"]);
  });

  test("subscribing again with the same topics changes nothing and reports the positions", () => {
    const state = withMessages({ a: 5, b: 2 });
    applyNext(state, subscribe("s", ["a", "b"], "earliest"));
    applyNext(state, ack("s", "a", 2));
    expect(applyNext(state, subscribe("s", ["b", "a", "b"], "latest"))).toEqual([
      {
        type: "subscribe",
        name: "s",
        created: false,
        positions: [
          { topic: "a", position: 3 },
          { topic: "b", position: 0 },
        ],
      },
    ]);
  });

  test("subscribing again with other topics is refused and changes nothing", () => {
    const state = withMessages({ a: 5 });
    applyNext(state, subscribe("s", ["a"], "earliest"));
    const before = state.durables();
    expectError(applyNext(state, subscribe("s", ["a", "b"], "earliest")), "REFUSED", "unsubscribe first");
    expect(state.durables()).toEqual(before);
  });

  test("a listed topic counts once", () => {
    const state = withMessages({ a: 1 });
    applyNext(state, subscribe("s", ["a", "a", "b"], "earliest"));
    expect(state.durable("s")?.positions.map((p) => p.topic)).toEqual(["a", "b"]);
  });

  test("ack moves the position past the acknowledged offset and never back", () => {
    const state = withMessages({ a: 10 });
    applyNext(state, subscribe("s", ["a"], "earliest"));
    expect(applyNext(state, ack("s", "a", 4))).toEqual([{ type: "ack", name: "s", topic: "a", position: 5 }]);
    expect(applyNext(state, ack("s", "a", 2))).toEqual([{ type: "ack", name: "s", topic: "a", position: 5 }]);
    expect(applyNext(state, ack("s", "a", 4))).toEqual([{ type: "ack", name: "s", topic: "a", position: 5 }]);
    expect(applyNext(state, ack("s", "a", 9))).toEqual([{ type: "ack", name: "s", topic: "a", position: 10 }]);
    expect(state.durable("s")?.positions).toEqual([{ topic: "a", position: 10 }]);
  });

  test("ack is refused for a message not published yet, a topic not subscribed, or an unknown name", () => {
    const state = withMessages({ a: 3, b: 1 });
    applyNext(state, subscribe("s", ["a", "later"], "earliest"));
    expectError(applyNext(state, ack("s", "a", 3)), "REFUSED", "next offset 3");
    expectError(applyNext(state, ack("s", "later", 0)), "REFUSED", "does not exist yet");
    expectError(applyNext(state, ack("s", "b", 0)), "NOT_FOUND", 'does not include topic "b"');
    expectError(applyNext(state, ack("nobody", "a", 0)), "NOT_FOUND", 'no subscription named "nobody"');
    expect(state.durable("s")?.positions.map((p) => p.position)).toEqual([0, 0]);
  });

  test("unsubscribe removes the subscription; a new one with the name starts afresh", () => {
    const state = withMessages({ a: 4 });
    applyNext(state, subscribe("s", ["a"], "earliest"));
    applyNext(state, ack("s", "a", 1));
    expect(applyNext(state, { type: "unsubscribe", time: T0, name: "s" })).toEqual([
      { type: "unsubscribe", name: "s" },
    ]);
    expect(state.durable("s")).toBeUndefined();
    expectError(applyNext(state, { type: "unsubscribe", time: T0, name: "s" }), "NOT_FOUND");
    expectError(applyNext(state, ack("s", "a", 2)), "NOT_FOUND");
    applyNext(state, subscribe("s", ["a", "b"], "latest"));
    expect(state.durable("s")?.positions.map((p) => p.position)).toEqual([4, 0]);
  });

  test("a position below the retained messages resumes at the oldest retained one", () => {
    const state = withMessages({ a: 10 });
    applyNext(state, subscribe("s", ["a"], "earliest"));
    applyNext(state, ack("s", "a", 1));
    applyNext(state, { type: "config", time: T0, retention: { maxMessages: 4 } });
    expect(state.topicInfo("a")?.firstOffset).toBe(6);
    expect(state.durable("s")?.positions).toEqual([{ topic: "a", position: 6 }]);
    // An ack of a dropped offset leaves it there; a later one moves it on.
    expect(applyNext(state, ack("s", "a", 3))).toEqual([{ type: "ack", name: "s", topic: "a", position: 6 }]);
    expect(applyNext(state, ack("s", "a", 7))).toEqual([{ type: "ack", name: "s", topic: "a", position: 8 }]);
    applyNext(state, subscribe("from2", ["a"], 2));
    expect(state.durable("from2")?.positions).toEqual([{ topic: "a", position: 6 }]);
  });
});
