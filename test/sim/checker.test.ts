/**
 * The Raft checker both simulation levels share, fed one defect at a time: each test must raise exactly the invariant it names, so
 * that a check turned off (make mutants) fails here.
 */
import { describe, expect, test } from "bun:test";
import { nodeView } from "../support/node-view.ts";
import { Violation } from "./invariants.ts";
import { type DurableLog, RaftChecker } from "./raft-checker.ts";

/** The invariant `action` breaks, or "no violation". */
function broken(action: () => void): string {
  try {
    action();
    return "no violation";
  } catch (e) {
    return e instanceof Violation ? e.invariant : String(e);
  }
}

/** Node 1 led term 2 and committed index 2 (terms 1, 2); node 2 follows with the same log. */
function committedTwo(): RaftChecker {
  const c = new RaftChecker();
  // a node's first sight only sets where it starts: what it commits after that is checked
  c.observe(1, 0, nodeView(1, { role: "leader", term: 2, terms: [1, 2] }));
  c.observe(2, 0, nodeView(2, { term: 2, terms: [1, 2] }));
  for (const id of [1, 2]) c.durable(id, disk([1, 2]));
  c.observe(1, 0, nodeView(1, { role: "leader", term: 2, commit: 2, applied: 2, terms: [1, 2] }));
  c.observe(2, 0, nodeView(2, { term: 2, commit: 2, applied: 2, terms: [1, 2] }));
  return c;
}

/** A disk holding entries with these terms from index 1. */
function disk(terms: number[]): DurableLog {
  return { lastIndex: terms.length, term: (i) => terms[i - 1], snapshotIndex: 0, damagedUntil: 0 };
}

describe("Raft checker, one defect each", () => {
  test("a healthy sequence: a new leader of a later term holding the committed entries", () => {
    const c = committedTwo();
    expect(
      broken(() => c.observe(2, 0, nodeView(2, { role: "leader", term: 3, commit: 2, applied: 2, terms: [1, 2] }))),
    ).toBe("no violation");
  });

  test("two leaders in one term", () => {
    const c = committedTwo();
    expect(broken(() => c.observe(3, 0, nodeView(3, { role: "leader", term: 2, terms: [1, 2] })))).toBe(
      "election safety",
    );
  });

  test("a commit index that goes back", () => {
    const c = committedTwo();
    expect(broken(() => c.observe(2, 0, nodeView(2, { term: 2, commit: 1, applied: 2, terms: [1, 2] })))).toBe(
      "commit monotonic",
    );
  });

  test("an applied index that goes back", () => {
    const c = committedTwo();
    expect(broken(() => c.observe(2, 0, nodeView(2, { term: 2, commit: 2, applied: 1, terms: [1, 2] })))).toBe(
      "applied monotonic",
    );
  });

  test("one index committed at two terms", () => {
    const c = committedTwo();
    c.observe(3, 0, nodeView(3, { term: 3, terms: [1, 3] }));
    expect(broken(() => c.observe(3, 0, nodeView(3, { term: 3, commit: 2, terms: [1, 3] })))).toBe(
      "state machine safety",
    );
  });

  test("a leader of a later term without a committed entry", () => {
    const c = committedTwo();
    expect(broken(() => c.observe(3, 0, nodeView(3, { role: "leader", term: 3, commit: 1, terms: [1, 1] })))).toBe(
      "leader completeness",
    );
  });

  test("a restart below the commit index it had persisted", () => {
    const c = new RaftChecker();
    c.persisted(1, { term: 2, vote: 1, commit: 2 }, [], () => undefined);
    expect(broken(() => c.observe(1, 1, nodeView(1, { term: 2, commit: 1, terms: [1, 2] })))).toBe("commit monotonic");
  });

  test("a leader committing an entry on the disk of a minority (its own write not yet synced)", () => {
    const c = new RaftChecker();
    c.observe(1, 0, nodeView(1, { role: "leader", term: 2, voters: [1, 2, 3], terms: [1, 2] }));
    c.durable(1, disk([1]));
    c.durable(2, disk([1, 2]));
    c.durable(3, disk([1]));
    expect(
      broken(() =>
        c.observe(1, 0, nodeView(1, { role: "leader", term: 2, commit: 2, voters: [1, 2, 3], terms: [1, 2] })),
      ),
    ).toBe("durable majority");
    const healthy = new RaftChecker();
    healthy.observe(1, 0, nodeView(1, { role: "leader", term: 2, voters: [1, 2, 3], terms: [1, 2] }));
    healthy.durable(1, disk([1]));
    healthy.durable(2, disk([1, 2]));
    healthy.durable(3, disk([1, 2]));
    expect(
      broken(() =>
        healthy.observe(1, 0, nodeView(1, { role: "leader", term: 2, commit: 2, voters: [1, 2, 3], terms: [1, 2] })),
      ),
    ).toBe("no violation");
  });
});
