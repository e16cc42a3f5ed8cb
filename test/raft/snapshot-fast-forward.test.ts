/**
 * A follower given a snapshot whose last entry it already holds keeps its log and only moves its
 * commit index. Its answer must vouch only for what it knows matches the leader: the entries after
 * the snapshot's index were never compared with the leader's log.
 */
import { describe, expect, test } from "bun:test";
import { members, ofType, TestNode } from "./harness.ts";

describe("§7 snapshot fast-forward", () => {
  test("a follower holding the snapshot's last entry acknowledges the snapshot's index, not its own last index", () => {
    const follower = new TestNode(2, members([1, 2, 3]), { preVote: false });
    // Entries 6..8 come from a deposed leader of term 1; the new leader of term 2 holds other entries there.
    follower.seedLog([1, 1, 1, 1, 1, 1, 1, 1], { term: 1, vote: 1, commit: 3 });
    const meta = { index: 5, term: 1, membership: members([1, 2, 3]) };
    const answer = follower.step({
      type: "snapshot",
      from: 1,
      to: 2,
      term: 2,
      meta,
      offset: 0,
      data: new Uint8Array([1]),
      done: true,
    });
    const acks = ofType(answer, "appendResponse").map((m) => ({ index: m.index, reject: m.reject }));
    expect(acks).toEqual([{ index: 5, reject: false }]);
    expect(follower.raft.commitIndex).toBe(5);
    expect(follower.raft.lastIndex()).toBe(8);
  });
});
