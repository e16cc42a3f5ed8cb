/** §5.4 Safety: the election restriction and committing entries from earlier terms. */
import { describe, expect, test } from "bun:test";
import { members, TestNode } from "./harness.ts";

const noPreVote = { preVote: false };

describe("§5.4.1 election restriction", () => {
  const cases = [
    { name: "a lower last term", lastIndex: 5, lastTerm: 1, grant: false },
    { name: "the same last term and a shorter log", lastIndex: 2, lastTerm: 2, grant: false },
    { name: "the same last term and as long a log", lastIndex: 3, lastTerm: 2, grant: true },
    { name: "a higher last term and a shorter log", lastIndex: 1, lastTerm: 3, grant: true },
  ];
  for (const c of cases) {
    test(`a voter whose log ends at (3, term 2) ${c.grant ? "grants" : "refuses"} a candidate with ${c.name}`, () => {
      const voter = new TestNode(2, members([1, 2, 3]), noPreVote);
      voter.seedLog([1, 2, 2], { term: 2, vote: 0, commit: 1 });
      const msgs = voter.step({
        type: "vote",
        from: 1,
        to: 2,
        term: 3,
        lastIndex: c.lastIndex,
        lastTerm: c.lastTerm,
        transfer: false,
      });
      expect(msgs).toEqual([
        { type: "voteResponse", from: 2, to: 1, term: 3, reject: !c.grant, commit: 1, commitTerm: 1 },
      ]);
    });
  }
});

describe("§5.4.2 committing entries from previous terms", () => {
  test("a leader does not commit an entry of an earlier term by counting replicas; its own term's entry commits both", () => {
    const leader = new TestNode(1, members([1, 2, 3]), noPreVote);
    leader.seedLog([1, 2], { term: 3, vote: 0, commit: 1 });
    leader.tickUntilMessages();
    leader.step({ type: "voteResponse", from: 3, to: 1, term: 4, reject: false });
    expect(leader.raft.role).toBe("leader");
    expect(leader.persistedTerms()).toEqual([1, 2, 4]);
    // Node 2 now holds entry 2 (term 2) too: a majority, yet not committable (Figure 8).
    leader.step({
      type: "appendResponse",
      from: 2,
      to: 1,
      term: 4,
      index: 2,
      reject: false,
      hintIndex: 0,
      hintTerm: 0,
    });
    expect(leader.raft.commitIndex).toBe(1);
    leader.step({
      type: "appendResponse",
      from: 2,
      to: 1,
      term: 4,
      index: 3,
      reject: false,
      hintIndex: 0,
      hintTerm: 0,
    });
    expect(leader.raft.commitIndex).toBe(3);
    expect(leader.applied.map((e) => [e.index, e.term])).toEqual([
      [1, 1],
      [2, 2],
      [3, 4],
    ]);
  });

  test("an append that starts below the follower's commit index is answered with that index and changes nothing", () => {
    const f = new TestNode(2, members([1, 2, 3]), noPreVote);
    f.seedLog([1, 1], { term: 1, vote: 0, commit: 2 });
    const stale = { index: 2, term: 2, kind: 0, data: new Uint8Array([1]) } as const;
    const msgs = f.step({ type: "append", from: 3, to: 2, term: 2, index: 1, logTerm: 1, entries: [stale], commit: 2 });
    expect(msgs).toEqual([
      { type: "appendResponse", from: 2, to: 3, term: 2, index: 2, reject: false, hintIndex: 0, hintTerm: 0 },
    ]);
    expect(f.persistedTerms()).toEqual([1, 1]);
  });
});
