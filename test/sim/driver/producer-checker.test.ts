/**
 * The per-producer checker fed one defect at a time: each case must raise exactly the invariant it names, so that a
 * check turned off (make mutants) fails here.
 */
import { describe, expect, test } from "bun:test";
import { MqraftError } from "../../../src/util/errors.ts";
import { Violation } from "../invariants.ts";
import { BrokerChecker } from "./broker-checker.ts";
import { ConnectionOrder } from "./connection-order.ts";
import { ProducerChecker } from "./producer-checker.ts";

function broken(action: () => void): string {
  try {
    action();
    return "no violation";
  } catch (e) {
    return e instanceof Violation ? e.invariant : String(e);
  }
}

const text = (incarnation: number, seq: number) => ProducerChecker.text("p1", incarnation, seq, "x");

/** Incarnation 0 of p1 stored seqs 0, 1 and 3 at entries 5 (slots 0, 1) and 7, across two topics; it registered at 2. */
function storedThree(): ProducerChecker {
  const c = new ProducerChecker();
  c.registered("p1", 0, 2);
  c.stored(text(0, 0), "a", 0, { index: 5, slot: 0 });
  c.stored(text(0, 3), "b", 4, { index: 7, slot: 0 });
  c.stored(text(0, 1), "b", 3, { index: 5, slot: 1 });
  return c;
}

describe("per-producer checker, one defect each", () => {
  test("a healthy history: seqs in log order across topics, a later incarnation registered after them", () => {
    const c = storedThree();
    expect(broken(() => c.stored(text(0, 2), "a", 1, { index: 6, slot: 3 }))).toBe("no violation");
    expect(broken(() => c.registered("p1", 1, 8))).toBe("no violation");
    // the new incarnation numbers from 0 again: not a duplicate of the old seq 0
    expect(broken(() => c.stored(text(1, 0), "a", 2, { index: 9, slot: 0 }))).toBe("no violation");
    // a text without an incarnation (a publisher without an epoch) is no business of this checker
    expect(broken(() => c.stored("p9/0/x", "a", 3, { index: 1, slot: 0 }))).toBe("no violation");
  });

  test("a seq stored before an earlier one", () => {
    expect(broken(() => storedThree().stored(text(0, 2), "a", 1, { index: 5, slot: 0 }))).toBe("producer order");
  });

  test("a seq stored after a later one", () => {
    expect(broken(() => storedThree().stored(text(0, 2), "a", 1, { index: 7, slot: 1 }))).toBe("producer order");
  });

  test("one seq stored at two places", () => {
    expect(broken(() => storedThree().stored(text(0, 1), "a", 9, { index: 9, slot: 0 }))).toBe("no duplicate");
  });

  test("an old incarnation's message stored after a new one registered", () => {
    const c = storedThree();
    c.registered("p1", 1, 8);
    expect(broken(() => c.stored(text(0, 4), "a", 1, { index: 8, slot: 1 }))).toBe("fenced");
  });

  test("a registration at an index below an old incarnation's stored message", () => {
    expect(broken(() => storedThree().registered("p1", 1, 7))).toBe("fenced");
  });

  test("the broker checker passes each message it first sees at a place to the producer checker", () => {
    const c = new BrokerChecker(false);
    c.holds(1, "a", 0, text(0, 1), { index: 4, slot: 0 });
    c.holds(2, "a", 0, text(0, 1), { index: 4, slot: 0 });
    expect(broken(() => c.holds(1, "b", 0, text(0, 0), { index: 4, slot: 1 }))).toBe("producer order");
  });
});

describe("per-connection order, one defect each", () => {
  /** Publishes #1, #2 and #4 of one connection stored at t/2, u/0 and t/5; #3 not yet answered. */
  function arrivedFour(): ConnectionOrder {
    const c = new ConnectionOrder("p1 to broker 1");
    for (let i = 0; i < 4; i++) c.arrived();
    c.answered(1, { type: "publish", topic: "t", offset: 2 });
    c.answered(4, { type: "publish", topic: "t", offset: 5 });
    c.answered(2, { type: "publish", topic: "u", offset: 0 });
    return c;
  }

  test("a healthy history: offsets in arrival order per topic, answers in any order, duplicates and errors ignored", () => {
    const c = arrivedFour();
    expect(broken(() => c.answered(3, { type: "publish", topic: "t", offset: 3 }))).toBe("no violation");
    // another topic has offsets of its own; a duplicate's offset is where an earlier copy was stored
    expect(broken(() => c.answered(3, { type: "publish", topic: "u", offset: 0, duplicate: true }))).toBe(
      "no violation",
    );
    expect(broken(() => c.answered(3, new MqraftError("NOT_LEADER", "no")))).toBe("no violation");
  });

  test("a publish stored before one that arrived earlier", () => {
    expect(broken(() => arrivedFour().answered(3, { type: "publish", topic: "t", offset: 1 }))).toBe(
      "connection order",
    );
  });

  test("a publish stored after one that arrived later", () => {
    expect(broken(() => arrivedFour().answered(3, { type: "publish", topic: "t", offset: 6 }))).toBe(
      "connection order",
    );
  });
});
