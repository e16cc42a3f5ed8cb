import { describe, expect, test } from "bun:test";
import { MAX_PRODUCERS, PRODUCER_IDLE_MS } from "../../src/broker/dedup-window.ts";
import { SEQS_PER_PRODUCER } from "../../src/broker/producer-window.ts";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { expectError, msg, publish, published, T0 } from "./helpers.ts";

describe("dedup window", () => {
  test("a retry in the same batch gets the original result and is stored once", () => {
    const state = new BrokerState();
    const results = publish(state, T0, msg("t", "a", "p1", 7), msg("t", "b", "p1", 8), msg("t", "a", "p1", 7));
    expect(results).toEqual([
      { type: "publish", topic: "t", offset: 0 },
      { type: "publish", topic: "t", offset: 1 },
      { type: "publish", topic: "t", offset: 0, duplicate: true },
    ]);
    expect(state.topicInfo("t")?.messages).toBe(2);
  });

  test("a retry in a later batch (after a leader change) gets the original result", () => {
    const state = new BrokerState();
    publish(state, T0, msg("t", "a", "p1", 1), msg("u", "b", "p1", 2));
    publish(state, T0 + 10, msg("t", "c"));
    const retry = publish(state, T0 + 20, msg("t", "a", "p1", 1), msg("u", "b", "p1", 2), msg("t", "d", "p1", 3));
    expect(retry).toEqual([
      { type: "publish", topic: "t", offset: 0, duplicate: true },
      { type: "publish", topic: "u", offset: 0, duplicate: true },
      { type: "publish", topic: "t", offset: 2 },
    ]);
    expect(state.topicInfo("t")?.nextOffset).toBe(3);
    expect(state.topicInfo("u")?.nextOffset).toBe(1);
  });

  test("the key is (producer, seq): other producers and messages without a producer are not affected", () => {
    const state = new BrokerState();
    publish(state, T0, msg("t", "a", "p1", 1));
    const results = published(publish(state, T0, msg("t", "a", "p2", 1), msg("t", "a"), msg("t", "a")));
    expect(results.map((r) => [r.offset, r.duplicate])).toEqual([
      [1, undefined],
      [2, undefined],
      [3, undefined],
    ]);
  });

  test("a retry naming another topic still gets the original's topic and offset", () => {
    const state = new BrokerState();
    publish(state, T0, msg("t", "a", "p1", 1));
    expect(publish(state, T0, msg("other", "a", "p1", 1))).toEqual([
      { type: "publish", topic: "t", offset: 0, duplicate: true },
    ]);
    expect(state.topicInfo("other")).toBeUndefined();
  });

  test("seqs out of order are remembered too", () => {
    const state = new BrokerState();
    publish(state, T0, msg("t", "5", "p", 5), msg("t", "3", "p", 3), msg("t", "9", "p", 9), msg("t", "4", "p", 4));
    const retry = published(
      publish(state, T0 + 1, msg("t", "", "p", 3), msg("t", "", "p", 4), msg("t", "", "p", 5), msg("t", "", "p", 9)),
    );
    expect(retry.map((r) => [r.offset, r.duplicate])).toEqual([
      [1, true],
      [3, true],
      [0, true],
      [2, true],
    ]);
    expect(published(publish(state, T0 + 2, msg("t", "", "p", 6)))[0]).toEqual({
      type: "publish",
      topic: "t",
      offset: 4,
    });
  });

  test("a producer idle for longer than the window is forgotten: its retry is stored again", () => {
    const state = new BrokerState();
    const W = PRODUCER_IDLE_MS;
    publish(state, T0, msg("t", "a", "p1", 1));
    // Idle for exactly the window: still remembered (and the retry makes it active again).
    expect(publish(state, T0 + W, msg("t", "a", "p1", 1), msg("t", "b", "p2", 1))).toEqual([
      { type: "publish", topic: "t", offset: 0, duplicate: true },
      { type: "publish", topic: "t", offset: 1 },
    ]);
    publish(state, T0 + 2 * W, msg("t", "c", "p2", 2));
    // p1 has now been idle for the window and 1 ms: forgotten. p2 published 1 ms ago: remembered.
    expect(publish(state, T0 + 2 * W + 1, msg("t", "a", "p1", 1), msg("t", "b", "p2", 1))).toEqual([
      { type: "publish", topic: "t", offset: 3 },
      { type: "publish", topic: "t", offset: 1, duplicate: true },
    ]);
  });

  test("idleness is measured in command time of any command, not in entries", () => {
    const state = new BrokerState();
    publish(state, T0, msg("t", "a", "p1", 1));
    publish(state, T0 + PRODUCER_IDLE_MS + 1, msg("u", "other"));
    expect(publish(state, T0 + PRODUCER_IDLE_MS + 1, msg("t", "a", "p1", 1))).toEqual([
      { type: "publish", topic: "t", offset: 1 },
    ]);
  });

  test(`each producer remembers its last ${SEQS_PER_PRODUCER} seqs`, () => {
    const state = new BrokerState();
    for (let start = 0; start <= SEQS_PER_PRODUCER; start += 500) {
      const messages = [];
      for (let seq = start; seq < Math.min(start + 500, SEQS_PER_PRODUCER + 1); seq++)
        messages.push(msg("t", "", "p", seq));
      publish(state, T0, ...messages);
    }
    expect(state.topicInfo("t")?.nextOffset).toBe(SEQS_PER_PRODUCER + 1);
    // seq 0 fell out of the window: stored again. seq 1 is still there.
    expect(publish(state, T0, msg("t", "", "p", 1))).toEqual([
      { type: "publish", topic: "t", offset: 1, duplicate: true },
    ]);
    expect(publish(state, T0, msg("t", "", "p", 0))).toEqual([
      { type: "publish", topic: "t", offset: SEQS_PER_PRODUCER + 1 },
    ]);
    expect(publish(state, T0, msg("t", "", "p", SEQS_PER_PRODUCER))).toEqual([
      { type: "publish", topic: "t", offset: SEQS_PER_PRODUCER, duplicate: true },
    ]);
  });

  test(`past ${MAX_PRODUCERS} producers the least recently active is forgotten first`, () => {
    const state = new BrokerState();
    const batch = 5_000;
    for (let first = 0; first < MAX_PRODUCERS; first += batch) {
      const messages = Array.from({ length: batch }, (_, i) => msg("t", "", `p${first + i}`, 0));
      publish(state, T0 + first, ...messages);
    }
    publish(state, T0 + MAX_PRODUCERS, msg("t", "", "newcomer", 0));
    const next = MAX_PRODUCERS + 1;
    expect(publish(state, T0 + MAX_PRODUCERS, msg("t", "", "p0", 0))).toEqual([
      { type: "publish", topic: "t", offset: next },
    ]);
    expect(publish(state, T0 + MAX_PRODUCERS, msg("t", "", "p2", 0))).toEqual([
      { type: "publish", topic: "t", offset: 2, duplicate: true },
    ]);
  });

  test("a duplicate is answered even after retention dropped the original", () => {
    const state = new BrokerState();
    publish(state, T0, msg("t", "a", "p", 1), msg("t", "b", "p", 2));
    state.applyCommand(state.appliedIndex + 1, { type: "config", time: T0, retention: { maxMessages: 1 } });
    expect(state.topicInfo("t")?.firstOffset).toBe(1);
    expect(publish(state, T0, msg("t", "a", "p", 1))).toEqual([
      { type: "publish", topic: "t", offset: 0, duplicate: true },
    ]);
  });

  test("producer and seq go together", () => {
    const state = new BrokerState();
    expectError(
      state.applyCommand(1, {
        type: "publish",
        time: T0,
        messages: [{ topic: "t", data: new Uint8Array(1), producer: "p" }],
      }),
      "BAD_MESSAGE",
      "producer and seq",
    );
    expectError(
      state.applyCommand(2, { type: "publish", time: T0, messages: [{ topic: "t", data: new Uint8Array(1), seq: 3 }] }),
      "BAD_MESSAGE",
      "producer and seq",
    );
    expect(state.topicInfo("t")).toBeUndefined();
  });
});
