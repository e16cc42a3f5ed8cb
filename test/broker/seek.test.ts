import { describe, expect, test } from "bun:test";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { applyNext, expectError, msg, publish, T0 } from "./helpers.ts";

/** Topic a has offsets 0..3 published at T0, T0+10, T0+20, T0+30; durable `s` holds it at 2, held by "w1". */
function state(): BrokerState {
  const s = new BrokerState();
  for (let i = 0; i < 4; i++) publish(s, T0 + 10 * i, msg("a", `m${i}`));
  applyNext(s, { type: "subscribe", time: T0 + 40, name: "s", topics: ["a"], from: "earliest", holder: "w1" });
  applyNext(s, { type: "ack", time: T0 + 40, name: "s", topic: "a", offset: 1, holder: "w1" });
  return s;
}

const positions = (s: BrokerState) => s.durable("s")?.positions.map((p) => [p.topic, p.position]);

describe("seek: one command moves a durable subscription", () => {
  test("back to earliest, to an offset, to latest, and to the first message at or after a time", () => {
    const s = state();
    expect(applyNext(s, { type: "seek", time: T0 + 50, name: "s", to: "earliest" })).toEqual([
      { type: "seek", name: "s", positions: [{ topic: "a", position: 0 }] },
    ]);
    applyNext(s, { type: "seek", time: T0 + 50, name: "s", to: 3 });
    expect(positions(s)).toEqual([["a", 3]]);
    applyNext(s, { type: "seek", time: T0 + 50, name: "s", to: "latest" });
    expect(positions(s)).toEqual([["a", 4]]);
    applyNext(s, { type: "seek", time: T0 + 50, name: "s", to: { time: T0 + 15 } });
    expect(positions(s)).toEqual([["a", 2]]);
  });

  test("it keeps the holder: the holder's acks go on, another holder's are still fenced", () => {
    const s = state();
    applyNext(s, { type: "seek", time: T0 + 50, name: "s", to: "earliest" });
    expect(s.durableHolder("s")).toBe("w1");
    expectError(applyNext(s, { type: "ack", time: T0 + 50, name: "s", topic: "a", offset: 0, holder: "w2" }), "FENCED");
    applyNext(s, { type: "ack", time: T0 + 50, name: "s", topic: "a", offset: 0, holder: "w1" });
    expect(positions(s)).toEqual([["a", 1]]);
  });

  test("a pattern subscription keeps its pattern: a matching topic created after the seek is taken in", () => {
    const s = new BrokerState();
    publish(s, T0, msg("orders.eu", "1"));
    applyNext(s, { type: "subscribe", time: T0, name: "p", topics: ["orders.*"], from: "latest" });
    applyNext(s, { type: "seek", time: T0, name: "p", to: "earliest" });
    publish(s, T0, msg("orders.us", "2"));
    expect(s.durable("p")?.positions.map((p) => [p.topic, p.position])).toEqual([
      ["orders.eu", 0],
      ["orders.us", 0],
    ]);
  });

  test("of a subscription that does not exist: NOT_FOUND, and nothing is created", () => {
    const s = state();
    expectError(applyNext(s, { type: "seek", time: T0, name: "nope", to: "earliest" }), "NOT_FOUND");
    expect(s.durable("nope")).toBeUndefined();
  });
});
