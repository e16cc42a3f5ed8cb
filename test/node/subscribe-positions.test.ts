import { describe, expect, test } from "bun:test";
import { BrokerState } from "../../src/broker/state-machine.ts";
import { streamStart } from "../../src/node/subscribe-positions.ts";
import type { Subscribe } from "../../src/wire/index.ts";
import { msg, publish, T0 } from "../broker/helpers.ts";

function state(): BrokerState {
  const s = new BrokerState();
  publish(s, T0, msg("orders.eu"), msg("orders.eu"), msg("orders.us"), msg("orders.eu.x"), msg("stock"));
  return s;
}

const subscribe = (topics: string[], extra: Partial<Subscribe> = {}): Subscribe => ({
  type: "subscribe",
  id: 1,
  topics,
  from: "latest",
  ...extra,
});

describe("where a push stream starts", () => {
  test("a pattern reads the existing matching topics from `from`, and names stay as asked", () => {
    const start = streamStart(state(), subscribe(["orders.*", "later"]));
    expect([...start.positions]).toEqual([
      ["later", 0],
      ["orders.eu", 2],
      ["orders.us", 1],
    ]);
    expect(start.ends).toEqual([...start.positions]);
    expect(start.patterns.map((p) => p.text)).toEqual(["orders.*"]);
  });

  test("on a resume, a matching topic the client does not list starts at its first message", () => {
    const start = streamStart(state(), subscribe(["orders.>"], { positions: [["orders.eu", 1]] }));
    expect([...start.positions]).toEqual([
      ["orders.eu", 1],
      ["orders.us", 0],
      ["orders.eu.x", 0],
    ]);
  });

  test("a durable subscription's positions come before `from`", () => {
    const start = streamStart(state(), subscribe(["orders.*"]), new Map([["orders.eu", 1]]));
    expect([...start.positions]).toEqual([
      ["orders.eu", 1],
      ["orders.us", 1],
    ]);
  });
});
