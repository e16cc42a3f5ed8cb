/**
 * The driver simulation's broker checker fed one defect at a time: each test must raise exactly the invariant it
 * names, so that a check turned off (make mutants) fails here.
 */
import { describe, expect, test } from "bun:test";
import { bootstrap, type Entry } from "../../../src/raft/index.ts";
import { nodeView } from "../../support/node-view.ts";
import { Violation } from "../invariants.ts";
import { BrokerChecker } from "./broker-checker.ts";

function broken(action: () => void): string {
  try {
    action();
    return "no violation";
  } catch (e) {
    return e instanceof Violation ? e.invariant : String(e);
  }
}

/** The founding configuration (node 1 the only voter) is entries 1 and 2 of term 1, applied by node 1. */
const FOUNDING = bootstrap({ voters: [1], learners: [], addresses: {} }).entries;
/** Terms from index 1: the founding entries', then `more`. */
const t = (...more: number[]) => [...FOUNDING.map((e) => e.term), ...more];
const F = FOUNDING.length;

/** Node 1 led term 2 and committed index F+1 (term 2); node 2 follows; one publish of p1 acknowledged at t/0. */
function committedTwo(): BrokerChecker {
  const c = new BrokerChecker(false);
  c.applying(1, 0, FOUNDING);
  // a node's first sight only sets where it starts: what it commits after that is checked
  c.observe(1, 0, nodeView(1, { role: "leader", term: 2, commit: F, applied: F, terms: t(2) }));
  c.observe(2, 0, nodeView(2, { term: 2, commit: F, terms: t(2) }));
  c.durable(1, { lastIndex: F + 1, term: (i) => t(2)[i - 1], snapshotIndex: 0, damagedUntil: 0 });
  c.observe(1, 0, nodeView(1, { role: "leader", term: 2, commit: F + 1, applied: F, terms: t(2) }));
  c.observe(2, 0, nodeView(2, { term: 2, commit: F + 1, terms: t(2) }));
  c.holds(1, "t", 0, "p1/0/x");
  c.acknowledged("p1/0/x", "t", 0);
  return c;
}

describe("driver simulation's broker checker, one defect each", () => {
  test("a healthy sequence: another node holds the same message, a new leader holds the committed entries", () => {
    const c = committedTwo();
    expect(broken(() => c.holds(2, "t", 0, "p1/0/x"))).toBe("no violation");
    expect(broken(() => c.observe(2, 0, nodeView(2, { role: "leader", term: 3, commit: F + 1, terms: t(2) })))).toBe(
      "no violation",
    );
  });

  test("two leaders in one term", () => {
    const c = committedTwo();
    expect(broken(() => c.observe(3, 0, nodeView(3, { role: "leader", term: 2, terms: t(2) })))).toBe(
      "election safety",
    );
  });

  test("a commit index that goes back within one run of a node", () => {
    const c = committedTwo();
    expect(broken(() => c.observe(2, 0, nodeView(2, { term: 2, commit: F, terms: t(2) })))).toBe("commit monotonic");
  });

  test("one index committed at two terms", () => {
    const c = committedTwo();
    c.observe(3, 0, nodeView(3, { term: 3, commit: F, terms: t(3) }));
    expect(broken(() => c.observe(3, 0, nodeView(3, { term: 3, commit: F + 1, terms: t(3) })))).toBe(
      "state machine safety",
    );
  });

  test("a leader of a later term without a committed entry", () => {
    const c = committedTwo();
    expect(broken(() => c.observe(3, 0, nodeView(3, { role: "leader", term: 3, commit: F, terms: t(1) })))).toBe(
      "leader completeness",
    );
  });

  test("an acknowledged publish missing from its offset (a lost ack)", () => {
    const c = committedTwo();
    expect(broken(() => c.holds(2, "t", 0, "p2/0/y"))).toBe("message agreement");
    const fresh = new BrokerChecker(false);
    fresh.acknowledged("p1/0/x", "t", 0);
    expect(broken(() => fresh.holds(1, "t", 0, "p2/0/y"))).toBe("acknowledged publish");
  });

  test("an acknowledged publish stored at another offset", () => {
    const c = committedTwo();
    expect(broken(() => c.holds(2, "t", 1, "p1/0/x"))).toBe("acknowledged publish");
  });

  test("an acknowledgement naming an offset that holds another message, or another offset than the stored one", () => {
    const c = committedTwo();
    expect(broken(() => c.acknowledged("p2/0/y", "t", 0))).toBe("acknowledged publish");
    c.holds(1, "t", 1, "p3/0/z");
    expect(broken(() => c.acknowledged("p3/0/z", "t", 2))).toBe("acknowledged publish");
  });

  test("one publish acknowledged at two offsets", () => {
    const c = committedTwo();
    expect(broken(() => c.acknowledged("p1/0/x", "t", 1))).toBe("stored once");
  });

  test("two votes in one term", () => {
    const c = new BrokerChecker(false);
    c.voted(1, 3, 2);
    expect(broken(() => c.voted(1, 3, 3))).toBe("one vote per term");
  });

  test("one publish stored twice (a duplicate)", () => {
    const c = committedTwo();
    c.holds(1, "t", 1, "p3/0/z");
    expect(broken(() => c.holds(1, "t", 2, "p3/0/z"))).toBe("stored once");
  });

  test("entries applied out of order (a hole)", () => {
    const c = new BrokerChecker(false);
    const entry = (index: number): Entry => ({ index, term: 1, kind: 0, data: new Uint8Array([index]) });
    c.applying(1, 0, [entry(1), entry(2)]);
    expect(broken(() => c.applying(1, 2, [entry(4)]))).toBe("apply order");
  });

  test("a vote sent but not on disk after a crash", () => {
    const c = new BrokerChecker(false);
    c.voted(1, 3, 2);
    expect(broken(() => c.recovered(1, { term: 3, vote: 0, commit: 0 }))).toBe("vote durability");
  });
});
