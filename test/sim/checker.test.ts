/**
 * The Raft checker both simulation levels share, fed one defect at a time: each test must raise exactly the invariant it names, so
 * that a check turned off (make mutants) fails here.
 */
import { describe, expect, test } from "bun:test";
import { bootstrap } from "../../src/raft/index.ts";
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

/**
 * The one history starts with the founding configuration (voters `voters`, entries 1..F of term 1, applied by node
 * 1): the checker counts a commit against the voters it defines.
 */
function founded(voters: number[]): { c: RaftChecker; F: number } {
  const c = new RaftChecker();
  const { entries } = bootstrap({ voters, learners: [], addresses: {} });
  c.applying(1, 0, entries);
  return { c, F: entries.length };
}

/** Founders {1,2}; node 1 led term 2 and committed index F+1 (terms 1 up to F, then 2); node 2 follows with the same log. */
function committedTwo(): { c: RaftChecker; F: number; t: (...more: number[]) => number[] } {
  const { c, F } = founded([1, 2]);
  const t = (...more: number[]) => [...Array<number>(F).fill(1), ...more];
  // a node's first sight only sets where it starts: what it commits after that is checked
  c.observe(1, 0, nodeView(1, { role: "leader", term: 2, commit: F, applied: F, terms: t(2) }));
  c.observe(2, 0, nodeView(2, { term: 2, commit: F, applied: F, terms: t(2) }));
  for (const id of [1, 2]) c.durable(id, disk(t(2)));
  c.observe(1, 0, nodeView(1, { role: "leader", term: 2, commit: F + 1, applied: F + 1, terms: t(2) }));
  c.observe(2, 0, nodeView(2, { term: 2, commit: F + 1, applied: F + 1, terms: t(2) }));
  return { c, F, t };
}

/** A disk holding entries with these terms from index 1. */
function disk(terms: number[]): DurableLog {
  return { lastIndex: terms.length, term: (i) => terms[i - 1], snapshotIndex: 0, damagedUntil: 0 };
}

describe("Raft checker, one defect each", () => {
  test("a healthy sequence: a new leader of a later term holding the committed entries", () => {
    const { c, F, t } = committedTwo();
    expect(
      broken(() =>
        c.observe(2, 0, nodeView(2, { role: "leader", term: 3, commit: F + 1, applied: F + 1, terms: t(2) })),
      ),
    ).toBe("no violation");
  });

  test("two leaders in one term", () => {
    const { c, t } = committedTwo();
    expect(broken(() => c.observe(3, 0, nodeView(3, { role: "leader", term: 2, terms: t(2) })))).toBe(
      "election safety",
    );
  });

  test("a commit index that goes back", () => {
    const { c, F, t } = committedTwo();
    expect(broken(() => c.observe(2, 0, nodeView(2, { term: 2, commit: F, applied: F + 1, terms: t(2) })))).toBe(
      "commit monotonic",
    );
  });

  test("an applied index that goes back", () => {
    const { c, F, t } = committedTwo();
    expect(broken(() => c.observe(2, 0, nodeView(2, { term: 2, commit: F + 1, applied: F, terms: t(2) })))).toBe(
      "applied monotonic",
    );
  });

  test("one index committed at two terms", () => {
    const { c, F, t } = committedTwo();
    c.observe(3, 0, nodeView(3, { term: 3, commit: F, terms: t(3) }));
    expect(broken(() => c.observe(3, 0, nodeView(3, { term: 3, commit: F + 1, terms: t(3) })))).toBe(
      "state machine safety",
    );
  });

  test("a leader of a later term without a committed entry", () => {
    const { c, F, t } = committedTwo();
    expect(broken(() => c.observe(3, 0, nodeView(3, { role: "leader", term: 3, commit: F, terms: t(1) })))).toBe(
      "leader completeness",
    );
  });

  test("a running node whose log drops a committed entry it held (a snapshot over a longer log)", () => {
    const { c, F, t } = committedTwo();
    expect(broken(() => c.observe(2, 0, nodeView(2, { term: 2, commit: F + 1, applied: F + 1, terms: t() })))).toBe(
      "committed entry kept",
    );
    // after a restart, a log that lost what was never synced is judged by the restart checks instead
    expect(broken(() => c.observe(2, 1, nodeView(2, { term: 2, commit: F, applied: F, terms: t() })))).toBe(
      "no violation",
    );
  });

  test("a restart below the commit index it had persisted", () => {
    const c = new RaftChecker();
    c.persisted(1, { term: 2, vote: 1, commit: 2 }, [], () => undefined);
    expect(broken(() => c.observe(1, 1, nodeView(1, { term: 2, commit: 1, terms: [1, 2] })))).toBe("commit monotonic");
  });

  test("a leader committing an entry on the disk of a minority (its own write not yet synced)", () => {
    const run = (leaderDisk: number[], otherDisk: number[]) => {
      const { c, F } = founded([1, 2, 3]);
      const t = [...Array<number>(F).fill(1), 2];
      c.observe(1, 0, nodeView(1, { role: "leader", term: 2, commit: F, applied: F, voters: [1, 2, 3], terms: t }));
      c.durable(1, disk(t.slice(0, leaderDisk.length)));
      c.durable(2, disk(t));
      c.durable(3, disk(t.slice(0, otherDisk.length)));
      return broken(() =>
        c.observe(
          1,
          0,
          nodeView(1, { role: "leader", term: 2, commit: F + 1, applied: F, voters: [1, 2, 3], terms: t }),
        ),
      );
    };
    const F = bootstrap({ voters: [1, 2, 3], learners: [], addresses: {} }).entries.length;
    expect(run(Array(F), Array(F))).toBe("durable majority");
    expect(run(Array(F), Array(F + 1))).toBe("no violation");
  });

  test("the voters a commit is counted against come from the committed history, not from the leader's view", () => {
    const { c, F } = founded([1, 2, 3]);
    const t = [...Array<number>(F).fill(1), 2];
    // the leader believes it is the only voter: its own disk would be a majority of that
    c.observe(1, 0, nodeView(1, { role: "leader", term: 2, commit: F, applied: F, voters: [1], terms: t }));
    c.durable(1, disk(t));
    c.durable(2, disk(t.slice(0, F)));
    c.durable(3, disk(t.slice(0, F)));
    expect(
      broken(() =>
        c.observe(1, 0, nodeView(1, { role: "leader", term: 2, commit: F + 1, applied: F, voters: [1], terms: t })),
      ),
    ).toBe("durable majority");
  });
});
