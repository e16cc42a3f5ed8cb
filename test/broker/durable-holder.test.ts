import { describe, expect, test } from "bun:test";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { applyNext, msg, publish, T0 } from "./helpers.ts";

const subscribe = (state: BrokerState, holder?: string) =>
  applyNext(state, {
    type: "subscribe",
    time: T0,
    name: "d",
    topics: ["t"],
    from: "earliest",
    ...(holder === undefined ? {} : { holder }),
  });
const ack = (state: BrokerState, offset: number, holder?: string) =>
  applyNext(state, {
    type: "ack",
    time: T0,
    name: "d",
    topic: "t",
    offset,
    ...(holder === undefined ? {} : { holder }),
  })[0];

describe("a durable subscription's holder", () => {
  test("a subscribe by another holder takes over: the previous holder's acks are FENCED, the new one's count; a snapshot keeps the holder", () => {
    const state = new BrokerState();
    publish(state, T0, msg("t"), msg("t"), msg("t"));
    subscribe(state, "a");
    expect(ack(state, 0, "a")).toMatchObject({ type: "ack", position: 1 });
    subscribe(state, "b");
    expect(state.durableHolder("d")).toBe("b");
    expect(ack(state, 1, "a")).toMatchObject({ type: "error", code: "FENCED" });
    expect(ack(state, 1, "b")).toMatchObject({ type: "ack", position: 2 });
    // a holder-less ack (an older client) is not checked
    expect(ack(state, 2)).toMatchObject({ type: "ack", position: 3 });
    const restored = BrokerState.restore(state.snapshot());
    expect(restored.durableHolder("d")).toBe("b");
    expect(ack(restored, 2, "a")).toMatchObject({ type: "error", code: "FENCED" });
  });
});
