/**
 * The core simulator's checker fed one defect at a time: each test must raise exactly the invariant it names, so
 * that a check turned off (make mutants) fails here.
 */
import { describe, expect, test } from "bun:test";
import { nodeView } from "../support/node-view.ts";
import { Checker, Violation } from "./invariants.ts";

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
function committedTwo(): Checker {
  const c = new Checker();
  c.observe(1, nodeView(1, { role: "leader", term: 2, commit: 2, applied: 2, terms: [1, 2] }));
  c.observe(2, nodeView(2, { term: 2, commit: 2, applied: 2, terms: [1, 2] }));
  return c;
}

describe("core simulator checker, one defect each", () => {
  test("a healthy sequence: a new leader of a later term holding the committed entries", () => {
    const c = committedTwo();
    expect(
      broken(() => c.observe(2, nodeView(2, { role: "leader", term: 3, commit: 2, applied: 2, terms: [1, 2] }))),
    ).toBe("no violation");
  });

  test("two leaders in one term", () => {
    const c = committedTwo();
    expect(broken(() => c.observe(3, nodeView(3, { role: "leader", term: 2, terms: [1, 2] })))).toBe("election safety");
  });

  test("a commit index that goes back", () => {
    const c = committedTwo();
    expect(broken(() => c.observe(2, nodeView(2, { term: 2, commit: 1, applied: 2, terms: [1, 2] })))).toBe(
      "commit monotonic",
    );
  });

  test("an applied index that goes back", () => {
    const c = committedTwo();
    expect(broken(() => c.observe(2, nodeView(2, { term: 2, commit: 2, applied: 1, terms: [1, 2] })))).toBe(
      "applied monotonic",
    );
  });

  test("one index committed at two terms", () => {
    const c = committedTwo();
    expect(broken(() => c.observe(3, nodeView(3, { term: 3, commit: 2, terms: [1, 3] })))).toBe("state machine safety");
  });

  test("a leader of a later term without a committed entry", () => {
    const c = committedTwo();
    expect(broken(() => c.observe(3, nodeView(3, { role: "leader", term: 3, commit: 1, terms: [1, 1] })))).toBe(
      "leader completeness",
    );
  });

  test("a restart below the commit index it had persisted", () => {
    const c = new Checker();
    c.persisted(1, { term: 2, vote: 1, commit: 2 }, [], { term: () => undefined } as never);
    expect(broken(() => c.restarted(1, nodeView(1, { term: 2, commit: 1, terms: [1, 2] })))).toBe("commit monotonic");
  });
});
