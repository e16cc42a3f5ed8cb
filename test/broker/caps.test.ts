import { describe, expect, test } from "bun:test";
import { MAX_DURABLE_BYTES, MAX_DURABLES, MAX_TOPIC_NAME_BYTES, MAX_TOPICS, utf8Bytes } from "../../src/broker/caps.ts";
import type { PublishMessage } from "../../src/broker/commands.ts";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { applyNext, expectError, msg, offsets, publish, T0 } from "./helpers.ts";

/** Publishes one message to each of `names`, 1,000 to an entry; every one must be accepted. */
function createTopics(state: BrokerState, names: string[]): void {
  for (let i = 0; i < names.length; i += 1000) {
    const batch: PublishMessage[] = names.slice(i, i + 1000).map((name) => msg(name));
    expect(offsets(publish(state, T0, ...batch))).toEqual(batch.map(() => 0));
  }
}

function subscribe(state: BrokerState, name: string, topics: string[]) {
  return applyNext(state, { type: "subscribe", time: T0, name, topics, from: "earliest" });
}

describe("caps on topics", () => {
  test(`a new topic past ${MAX_TOPICS} topics is refused with REFUSED naming the limit; existing topics still take messages`, () => {
    const state = new BrokerState();
    createTopics(
      state,
      Array.from({ length: MAX_TOPICS }, (_, i) => `t${i}`),
    );
    expectError(publish(state, T0, msg("one-too-many")), "REFUSED", "the cluster holds 100000 topics, its limit");
    expect(offsets(publish(state, T0, msg("t5")))).toEqual([1]);
    expect(state.topicInfo("one-too-many")).toBeUndefined();
  });

  test(`the names of all topics together are capped at ${MAX_TOPIC_NAME_BYTES} bytes, counted in UTF-8, also after a restore from a snapshot`, () => {
    const state = new BrokerState();
    const long = (i: number) => `${i}.${"é".repeat(115)}`;
    expect(utf8Bytes(long(7))).toBe(232);
    const fit: string[] = [];
    let bytes = 0;
    for (let i = 0; bytes + utf8Bytes(long(i)) <= MAX_TOPIC_NAME_BYTES; i++) {
      fit.push(long(i));
      bytes += utf8Bytes(long(i));
    }
    createTopics(state, fit);
    expectError(
      publish(state, T0, msg(long(fit.length))),
      "REFUSED",
      `the names of the cluster's ${fit.length} topics take ${bytes} bytes, and this one would pass the limit of ${MAX_TOPIC_NAME_BYTES}`,
    );
    expect(offsets(publish(state, T0, msg(long(3))))).toEqual([1]);
    // a broker restarted from a snapshot counts what it restored
    const restored = BrokerState.restore(state.snapshot());
    expectError(publish(restored, T0, msg(long(fit.length))), "REFUSED", "would pass the limit");
    expect(offsets(publish(restored, T0, msg("t")))).toEqual([0]);
  });
});

describe("caps on durable subscriptions", () => {
  test(`a new durable subscription past ${MAX_DURABLES} is refused; an existing one may subscribe again; removing one makes room`, () => {
    const state = new BrokerState();
    for (let i = 0; i < MAX_DURABLES; i++) expect(subscribe(state, `d${i}`, ["t"])[0]?.type).toBe("subscribe");
    expectError(
      subscribe(state, "extra", ["t"]),
      "REFUSED",
      'cannot create durable subscription "extra": the cluster holds 10000, its limit; remove unused ones (mqraft durable rm)',
    );
    expect(subscribe(state, "d3", ["t"])[0]?.type).toBe("subscribe");
    expect(BrokerState.restore(state.snapshot()).durable("extra")).toBeUndefined();
    const restored = BrokerState.restore(state.snapshot());
    expectError(subscribe(restored, "extra", ["t"]), "REFUSED", "its limit");
    expect(applyNext(restored, { type: "unsubscribe", time: T0, name: "d3" })[0]?.type).toBe("unsubscribe");
    expect(subscribe(restored, "extra", ["t"])[0]?.type).toBe("subscribe");
  });

  test(`durable subscriptions' names and topics are capped at ${MAX_DURABLE_BYTES} bytes together`, () => {
    const state = new BrokerState();
    const topics = Array.from({ length: 1000 }, (_, i) => `topic.${i}`.padEnd(100, "x"));
    // each subscription: its name (2-4 bytes) + 1000 x (100 + 8) bytes = about 108 KB
    let made = 0;
    for (; ; made++) {
      const r = subscribe(state, `d${made}`, topics)[0];
      if (r?.type !== "subscribe") {
        expect(r).toMatchObject({ type: "error", code: "REFUSED" });
        expect(r?.type === "error" ? r.message : "").toContain(`would pass the limit of ${MAX_DURABLE_BYTES}`);
        break;
      }
    }
    expect(made).toBe(Math.floor(MAX_DURABLE_BYTES / (1000 * 108 + 3)));
    // a small one still fits in what is left
    expect(subscribe(state, "small", ["t"])[0]?.type).toBe("subscribe");
  });
});
