/**
 * A follower whose log was cut by a repair (corruption found at start) holds less than the leader's
 * match for it. It must say so, and the leader must refill it, without anything committed moving back.
 */
import { describe, expect, test } from "bun:test";
import { MemoryLog } from "../../src/raft/index.ts";
import { bytes, ofType, TestCluster } from "./harness.ts";

describe("repaired follower (storage cut its log below what it acknowledged)", () => {
  test("a heartbeat committing beyond the follower's log is answered with its real end, and the leader refills it", () => {
    const c = new TestCluster([1, 2, 3], { preVote: false });
    c.elect(1);
    for (let i = 0; i < 5; i++) c.propose(1, bytes(i + 1));
    const leader = c.node(1);
    const follower = c.node(2);
    expect(follower.raft.lastIndex()).toBe(6);
    const committed = leader.raft.commitIndex;

    // The repair keeps entries 1..2 only; the node restarts on that log, its hard state intact.
    const kept = follower.log.entries(1, 3);
    const cut = new MemoryLog();
    cut.applySnapshot(follower.log.snapshot()!);
    cut.append(kept);
    (follower as unknown as { log: MemoryLog }).log = cut;
    follower.hardState = { ...follower.hardState, commit: 2 };
    // The state machine is rebuilt from the log at start, so only what is left was applied.
    (follower as unknown as { appliedIndex: number }).appliedIndex = 2;
    follower.restart();
    expect(follower.raft.lastIndex()).toBe(2);

    leader.raft.tick();
    const heartbeat = ofType(leader.flush(), "heartbeat").find((m) => m.to === 2)!;
    expect(heartbeat.commit).toBe(6);
    const answer = follower.step(heartbeat);
    expect(answer).toEqual([
      { type: "appendResponse", from: 2, to: 1, term: 1, index: 6, reject: true, hintIndex: 2, hintTerm: 0 },
    ]);

    c.deliver(answer);
    expect(follower.raft.lastIndex()).toBe(6);
    expect(follower.persistedTerms()).toEqual(leader.persistedTerms());
    expect(leader.raft.commitIndex).toBe(committed);
    expect(leader.raft.status().peers.find((p) => p.id === 2)?.match).toBe(6);
  });
});
