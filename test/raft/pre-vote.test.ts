/** §9.6 Pre-vote: a node first asks whether it could win, so that a lost node cannot raise everyone's term. */
import { describe, expect, test } from "bun:test";
import { E, members, TestCluster, TestNode } from "./harness.ts";

describe("§9.6 pre-vote", () => {
  test("a follower that times out asks for pre-votes at term+1 without changing its own term or vote", () => {
    const n = new TestNode(1, members([1, 2, 3]));
    const msgs = n.tickUntilMessages();
    expect(msgs).toEqual([
      // with how far the candidate knows the log committed (index 0 of term 0 here), as every answer
      {
        type: "preVote",
        from: 1,
        to: 2,
        term: 1,
        lastIndex: 0,
        lastTerm: 0,
        transfer: false,
        commit: 0,
        commitTerm: 0,
      },
      {
        type: "preVote",
        from: 1,
        to: 3,
        term: 1,
        lastIndex: 0,
        lastTerm: 0,
        transfer: false,
        commit: 0,
        commitTerm: 0,
      },
    ]);
    expect(n.raft.role).toBe("preCandidate");
    expect(n.raft.term).toBe(0);
    expect(n.readies.every((rd) => rd.hardState === undefined)).toBe(true);
  });

  test("a voter grants a pre-vote at the requested term but keeps its own term and vote", () => {
    const n = new TestNode(2, members([1, 2, 3]));
    const msgs = n.step({ type: "preVote", from: 1, to: 2, term: 1, lastIndex: 0, lastTerm: 0, transfer: false });
    // every answer says how far the voter knows the log committed (index 0 of term 0 here)
    expect(msgs).toEqual([
      { type: "preVoteResponse", from: 2, to: 1, term: 1, reject: false, commit: 0, commitTerm: 0 },
    ]);
    expect(n.raft.term).toBe(0);
    expect(n.hardState).toEqual({ term: 0, vote: 0, commit: 0 });
  });

  test("with a majority of pre-votes the node starts the real election", () => {
    const n = new TestNode(1, members([1, 2, 3]));
    n.tickUntilMessages();
    const msgs = n.step({ type: "preVoteResponse", from: 3, to: 1, term: 1, reject: false });
    expect(n.raft.role).toBe("candidate");
    expect(n.hardState).toEqual({ term: 1, vote: 1, commit: 0 });
    expect(msgs).toEqual([
      { type: "vote", from: 1, to: 2, term: 1, lastIndex: 0, lastTerm: 0, transfer: false, commit: 0, commitTerm: 0 },
      { type: "vote", from: 1, to: 3, term: 1, lastIndex: 0, lastTerm: 0, transfer: false, commit: 0, commitTerm: 0 },
    ]);
  });

  test("a pre-vote for a candidate whose log is behind is rejected at the voter's term", () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.propose(1, new Uint8Array([7]));
    c.tickAll(2 * E);
    const voter = c.node(2);
    expect(voter.raft.lastIndex()).toBe(2);
    // Out of the leader's lease (no leader heard for 2E ticks), but the log check still refuses.
    c.isolate(1);
    for (let i = 0; i < 2 * E; i++) voter.raft.tick();
    voter.flush();
    const msgs = voter.step({ type: "preVote", from: 3, to: 2, term: 3, lastIndex: 1, lastTerm: 1, transfer: false });
    const commit = voter.raft.commitIndex;
    expect(msgs).toContainEqual({
      type: "preVoteResponse",
      from: 2,
      to: 3,
      term: voter.raft.term,
      reject: true,
      commit,
      commitTerm: voter.raft.termAt(commit),
    });
  });

  test("a pre-candidate rejected by a node of a later term adopts that term", () => {
    const n = new TestNode(1, members([1, 2, 3]));
    n.tickUntilMessages();
    n.step({ type: "preVoteResponse", from: 2, to: 1, term: 4, reject: true });
    expect(n.raft.role).toBe("follower");
    expect(n.raft.term).toBe(4);
  });

  test("a node cut off for many election timeouts rejoins without raising the term or unseating the leader", () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    expect(c.node(1).raft.term).toBe(1);
    c.isolate(3);
    c.tickAll(10 * E);
    expect(c.node(3).raft.term).toBe(1);
    c.heal();
    c.tickAll(3 * E);
    expect([1, 2, 3].map((id) => [c.node(id).raft.term, c.node(id).raft.leader])).toEqual([
      [1, 1],
      [1, 1],
      [1, 1],
    ]);
  });

  test("without pre-vote the same cut-off node raises its term while away", () => {
    const c = new TestCluster([1, 2, 3], { preVote: false });
    c.elect(1);
    c.isolate(3);
    c.tickAll(10 * E);
    expect(c.node(3).raft.term).toBeGreaterThan(3);
  });
});
