/**
 * A follower whose commit index is ahead of what the leader's heartbeat says the leader knows of its log (the answer
 * to a snapshot's last chunk, or to appends, was lost) answers as it answers an append below its commit index: with
 * an acknowledgement of its commit index. Without it, a leader still in the snapshot state waited out its resend timer
 * (core simulation seed 14288: longer than the liveness bound).
 */
import { describe, expect, test } from "bun:test";
import { members, ofType, TestNode } from "./harness.ts";

const cluster = { membership: members([1, 2, 3]), reachable: [1, 2, 3] };

describe("§5.3 heartbeat behind the follower's commit", () => {
  test("the follower acknowledges its commit index beside the heartbeat response", () => {
    const follower = new TestNode(2, members([1, 2, 3]), { preVote: false });
    follower.seedLog([1, 1, 1, 1, 1, 1], { term: 1, vote: 1, commit: 5 });
    const answer = follower.step({ type: "heartbeat", from: 1, to: 2, term: 1, commit: 3, cluster });
    expect(answer.map((m) => m.type)).toEqual(["appendResponse", "heartbeatResponse"]);
    expect(ofType(answer, "appendResponse").map((m) => ({ index: m.index, reject: m.reject }))).toEqual([
      { index: 5, reject: false },
    ]);
  });

  test("a heartbeat that knows the follower's commit gets the usual response", () => {
    const follower = new TestNode(2, members([1, 2, 3]), { preVote: false });
    follower.seedLog([1, 1, 1, 1, 1, 1], { term: 1, vote: 1, commit: 5 });
    const answer = follower.step({ type: "heartbeat", from: 1, to: 2, term: 1, commit: 6, cluster });
    expect(answer.map((m) => m.type)).toEqual(["heartbeatResponse"]);
    expect(follower.raft.commitIndex).toBe(6);
  });
});
