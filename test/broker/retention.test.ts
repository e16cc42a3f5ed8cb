import { describe, expect, test } from "bun:test";
import type { Retention } from "../../src/broker/commands.ts";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { createPrng } from "../../src/util/prng.ts";
import { applyNext, msg, offsets, publish, T0 } from "./helpers.ts";

/** Retention the plain way: arrays of messages, every limit checked on every topic each time. */
class PlainModel {
  readonly topics = new Map<string, { first: number; kept: { time: number; size: number }[] }>();
  private policy: Retention = {};
  private clock = 0;

  tick(time: number): void {
    this.clock = Math.max(this.clock, time);
    this.dropAged();
  }

  configure(retention: Retention): void {
    this.policy = retention;
    for (const topic of this.topics.values()) this.dropOversize(topic);
    this.dropAged();
  }

  publish(topic: string, size: number): void {
    const t = this.topics.get(topic) ?? { first: 0, kept: [] };
    this.topics.set(topic, t);
    t.kept.push({ time: this.clock, size });
    this.dropOversize(t);
  }

  private dropOversize(t: { first: number; kept: { time: number; size: number }[] }): void {
    const bytes = () => t.kept.reduce((n, m) => n + m.size, 0);
    while (
      t.kept.length > (this.policy.maxMessages ?? Infinity) ||
      (t.kept.length > 1 && bytes() > (this.policy.maxBytes ?? Infinity))
    ) {
      t.kept.shift();
      t.first++;
    }
  }

  private dropAged(): void {
    const maxAgeMs = this.policy.maxAgeMs;
    if (maxAgeMs === undefined) return;
    for (const t of this.topics.values()) {
      while (t.kept.length > 0 && this.clock - (t.kept[0]?.time as number) >= maxAgeMs) {
        t.kept.shift();
        t.first++;
      }
    }
  }
}

function configure(state: BrokerState, retention: Retention, time = T0): void {
  expect(applyNext(state, { type: "config", time, retention })).toEqual([{ type: "config", retention }]);
}

describe("retention", () => {
  test("by count: old messages go, offsets are never reused", () => {
    const state = new BrokerState();
    configure(state, { maxMessages: 3 });
    expect(offsets(publish(state, T0, ...Array.from({ length: 10 }, () => msg("t"))))).toEqual([
      0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
    ]);
    expect(state.topicInfo("t")).toEqual({ firstOffset: 7, nextOffset: 10, bytes: 3, messages: 3 });
    expect(state.locate("t", 6)).toBe("dropped");
    expect(state.locate("t", 7)).toEqual({ index: 2, slot: 7 });
    expect(state.scan("t", 0, 10).map((m) => m.offset)).toEqual([7, 8, 9]);
    expect(offsets(publish(state, T0, msg("t"), msg("t")))).toEqual([10, 11]);
    expect(state.topicInfo("t")).toEqual({ firstOffset: 9, nextOffset: 12, bytes: 3, messages: 3 });
  });

  test("each topic is limited on its own", () => {
    const state = new BrokerState();
    configure(state, { maxMessages: 2 });
    publish(state, T0, msg("a"), msg("a"), msg("a"), msg("b"));
    expect(state.topicInfo("a")?.messages).toBe(2);
    expect(state.topicInfo("b")?.messages).toBe(1);
  });

  test("by bytes: the oldest go until the rest fit, but the newest message always stays", () => {
    const state = new BrokerState();
    configure(state, { maxBytes: 10 });
    publish(state, T0, msg("t", "1234"), msg("t", "1234"), msg("t", "1234"));
    expect(state.topicInfo("t")).toEqual({ firstOffset: 1, nextOffset: 3, bytes: 8, messages: 2 });
    publish(state, T0, msg("t", "a message larger than the limit"));
    expect(state.topicInfo("t")).toEqual({ firstOffset: 3, nextOffset: 4, bytes: 31, messages: 1 });
    publish(state, T0, msg("t", "ok"));
    expect(state.topicInfo("t")).toEqual({ firstOffset: 4, nextOffset: 5, bytes: 2, messages: 1 });
  });

  test("by age: a message goes once the command time reaches its time plus the limit", () => {
    const state = new BrokerState();
    configure(state, { maxAgeMs: 1000 });
    publish(state, T0, msg("a"), msg("b"));
    publish(state, T0 + 500, msg("a"));
    publish(state, T0 + 999, msg("c"));
    expect(state.topicInfo("a")?.messages).toBe(2);
    // Any command carries time; an ack for an unknown subscription is refused, and still its time counts.
    applyNext(state, { type: "ack", time: T0 + 1000, name: "x", topic: "a", offset: 0 });
    expect(state.topicInfo("a")).toEqual({ firstOffset: 1, nextOffset: 2, bytes: 1, messages: 1 });
    expect(state.topicInfo("b")).toEqual({ firstOffset: 1, nextOffset: 1, bytes: 0, messages: 0 });
    expect(state.topicInfo("c")?.messages).toBe(1);
    publish(state, T0 + 2000, msg("b"));
    expect(state.topicInfo("a")?.messages).toBe(0);
    expect(state.topicInfo("c")?.messages).toBe(0);
    expect(state.topicInfo("b")).toEqual({ firstOffset: 1, nextOffset: 2, bytes: 1, messages: 1 });
  });

  test("a command time behind the latest one does not turn the clock back", () => {
    const state = new BrokerState();
    configure(state, { maxAgeMs: 1000 });
    publish(state, T0 + 5000, msg("a"));
    publish(state, T0, msg("a"));
    expect(state.time).toBe(T0 + 5000);
    publish(state, T0 + 5999, msg("b"));
    expect(state.topicInfo("a")?.messages).toBe(2);
    publish(state, T0 + 6000, msg("b"));
    expect(state.topicInfo("a")?.messages).toBe(0);
  });

  test("a new policy applies at once to what is stored; removing a limit stops the drops", () => {
    const state = new BrokerState();
    publish(state, T0, ...Array.from({ length: 8 }, () => msg("t")));
    publish(state, T0 + 100, ...Array.from({ length: 8 }, () => msg("u")));
    configure(state, { maxMessages: 5, maxAgeMs: 50 }, T0 + 120);
    expect(state.topicInfo("t")?.messages).toBe(0);
    expect(state.topicInfo("u")?.messages).toBe(5);
    configure(state, {}, T0 + 130);
    expect(state.retention()).toEqual({});
    publish(state, T0 + 10_000, ...Array.from({ length: 8 }, () => msg("u")));
    expect(state.topicInfo("u")).toEqual({ firstOffset: 3, nextOffset: 16, bytes: 13, messages: 13 });
  });

  test("lowestNeededIndex follows the oldest retained message of any topic", () => {
    const state = new BrokerState();
    expect(state.lowestNeededIndex()).toBeUndefined();
    configure(state, { maxMessages: 2 });
    expect(state.lowestNeededIndex()).toBeUndefined();
    publish(state, T0, msg("a"), msg("b")); // index 2
    publish(state, T0, msg("a")); // index 3
    expect(state.lowestNeededIndex()).toBe(2);
    publish(state, T0, msg("a")); // index 4: a keeps 3, 4; b keeps 2
    expect(state.lowestNeededIndex()).toBe(2);
    publish(state, T0, msg("b"), msg("b")); // index 5: b keeps 5, 5
    expect(state.lowestNeededIndex()).toBe(3);
    configure(state, { maxAgeMs: 10 }, T0 + 10);
    expect(state.lowestNeededIndex()).toBeUndefined();
    publish(state, T0 + 20, msg("c"));
    expect(state.lowestNeededIndex()).toBe(state.appliedIndex);
  });

  test("limits must be whole numbers of at least 1", () => {
    const state = new BrokerState();
    for (const retention of [{ maxMessages: 0 }, { maxBytes: -1 }, { maxAgeMs: 1.5 }]) {
      const [result] = applyNext(state, { type: "config", time: T0, retention });
      expect(result?.type).toBe("error");
    }
    expect(state.retention()).toEqual({});
  });

  test.each([7, 19, 42])("matches a plain model of the limits over a seeded random stream (seed %i)", (seed) => {
    const prng = createPrng(seed);
    const state = new BrokerState();
    const model = new PlainModel();
    let time = T0;
    for (let step = 0; step < 400; step++) {
      time += prng.chance(0.1) ? -prng.int(0, 5000) : prng.int(0, 3000);
      if (prng.chance(0.05)) {
        const retention: Retention = {};
        if (prng.chance(0.5)) retention.maxMessages = prng.int(1, 30);
        if (prng.chance(0.4)) retention.maxBytes = prng.int(1, 300);
        if (prng.chance(0.5)) retention.maxAgeMs = prng.int(1, 20_000);
        configure(state, retention, time);
        model.tick(time);
        model.configure(retention);
      } else {
        const messages = Array.from({ length: prng.int(1, 12) }, () =>
          msg(`t${prng.int(0, 7)}`, "x".repeat(prng.int(0, 40))),
        );
        publish(state, time, ...messages);
        model.tick(time);
        for (const m of messages) model.publish(m.topic, m.data.length);
      }
      for (const [name, t] of model.topics) {
        const expected = {
          firstOffset: t.first,
          nextOffset: t.first + t.kept.length,
          bytes: t.kept.reduce((n, m) => n + m.size, 0),
          messages: t.kept.length,
        };
        expect({ step, name, info: state.topicInfo(name) }).toEqual({ step, name, info: expected });
      }
    }
  });
});
