import { describe, expect, test } from "bun:test";
import type { Command } from "../../src/broker/commands.ts";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { PatternTrie } from "../../src/broker/topic-trie.ts";
import { createPrng } from "../../src/util/prng.ts";
import { TopicPattern } from "../../src/util/topic-pattern.ts";
import { applyNext, expectError, msg, publish, T0 } from "./helpers.ts";

describe("topic patterns", () => {
  test.each([
    ["orders.*", "orders.eu", true],
    ["orders.*", "orders", false],
    ["orders.*", "orders.eu.created", false],
    ["orders.>", "orders.eu", true],
    ["orders.>", "orders.eu.created", true],
    ["orders.>", "orders", false],
    ["*.created", "orders.created", true],
    ["orders.*.created", "orders.eu.created", true],
    ["orders.*.created", "orders.eu.deleted", false],
    [">", "温度", true],
    ["*", "a.b", false],
    ["温度.*", "温度.センサー", true],
    ["orders", "orders", true],
    ["orders", "orders.eu", false],
  ])("%s against %s: %p", (pattern, topic, expected) => {
    expect(new TopicPattern(pattern).matches(topic)).toBe(expected);
    const trie = new PatternTrie<string>();
    trie.add(pattern, "v");
    expect(trie.matching(topic).has("v")).toBe(expected);
  });

  test("the trie finds exactly the patterns a scan of every pattern finds (seeded)", () => {
    const prng = createPrng(16);
    const tokens = ["a", "b", "c", "温度"];
    const pick = <T>(items: readonly T[]): T => items[Math.floor(prng.next() * items.length)] as T;
    const topicOf = () => Array.from({ length: 1 + Math.floor(prng.next() * 4) }, () => pick(tokens)).join(".");
    const patternOf = () => {
      const length = 1 + Math.floor(prng.next() * 4);
      const parts = Array.from({ length }, () => (prng.next() < 0.3 ? "*" : pick(tokens)));
      if (prng.next() < 0.3) parts[length - 1] = ">";
      return parts.join(".");
    };
    const patterns = Array.from({ length: 300 }, patternOf);
    const trie = new PatternTrie<number>();
    for (const [i, p] of patterns.entries()) trie.add(p, i);
    const removed = new Set<number>();
    for (let i = 0; i < patterns.length; i += 3) {
      trie.remove(patterns[i] as string, i);
      removed.add(i);
    }
    expect(trie.size).toBe(patterns.length - removed.size);
    for (let k = 0; k < 2000; k++) {
      const topic = topicOf();
      const expected = patterns
        .map((p, i) => (!removed.has(i) && new TopicPattern(p).matches(topic) ? i : -1))
        .filter((i) => i >= 0);
      expect([topic, [...trie.matching(topic)].sort((x, y) => x - y)]).toEqual([topic, expected]);
    }
    for (const [i, p] of patterns.entries()) trie.remove(p, i);
    expect(trie.size).toBe(0);
    expect(trie.matching("a.b").size).toBe(0);
  });
});

const subscribe = (name: string, topics: string[], from: "earliest" | "latest" = "earliest"): Command => ({
  type: "subscribe",
  time: T0,
  name,
  topics,
  from,
});

describe("durable subscriptions with patterns", () => {
  test("a pattern reads the matching topics that exist and every one created later, from its first message", () => {
    const state = new BrokerState();
    publish(state, T0, msg("orders.eu"), msg("orders.eu"), msg("orders"), msg("stock.eu"));
    expect(applyNext(state, subscribe("d", ["orders.*", "stock.eu"], "latest"))).toEqual([
      {
        type: "subscribe",
        name: "d",
        created: true,
        positions: [
          { topic: "stock.eu", position: 1 },
          { topic: "orders.eu", position: 2 },
        ],
      },
    ]);
    publish(state, T0, msg("orders.us"), msg("orders.us.x"), msg("stock.eu"), msg("orders.jp"));
    expect(state.durable("d")?.positions).toEqual([
      { topic: "stock.eu", position: 1 },
      { topic: "orders.eu", position: 2 },
      { topic: "orders.us", position: 0 },
      { topic: "orders.jp", position: 0 },
    ]);
    // the same list (in any order) attaches again; another list is refused
    expect(applyNext(state, subscribe("d", ["stock.eu", "orders.*"]))[0]).toMatchObject({ created: false });
    expectError(applyNext(state, subscribe("d", ["orders.>"])), "REFUSED", "orders.*, stock.eu");
    expect(applyNext(state, { type: "ack", time: T0, name: "d", topic: "orders.us", offset: 0 })[0]).toMatchObject({
      position: 1,
    });
  });

  test("patterns survive a snapshot and an unsubscribe forgets them", () => {
    const state = new BrokerState();
    publish(state, T0, msg("a.1"));
    applyNext(state, subscribe("gt", ["a.>"]));
    applyNext(state, subscribe("gone", ["a.*"]));
    const restored = BrokerState.restore(state.snapshot());
    expect(restored.durable("gt")?.positions).toEqual([{ topic: "a.1", position: 0 }]);
    applyNext(restored, { type: "unsubscribe", time: T0, name: "gone" });
    publish(restored, T0, msg("a.2.x"), msg("a.3"));
    expect(restored.durable("gt")?.positions.map((p) => p.topic)).toEqual(["a.1", "a.2.x", "a.3"]);
    applyNext(restored, subscribe("gone", ["a.*"]));
    expect(restored.durable("gone")?.positions.map((p) => p.topic)).toEqual(["a.1", "a.3"]);
    // a pattern that matches nothing yet is a subscription with no topic, in a snapshot too
    applyNext(restored, subscribe("none", ["z.*"]));
    const again = BrokerState.restore(restored.snapshot());
    expect(again.durable("none")?.positions).toEqual([]);
    publish(again, T0, msg("z.1"));
    expect(again.durable("none")?.positions).toEqual([{ topic: "z.1", position: 0 }]);
  });
});
