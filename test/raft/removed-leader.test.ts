/**
 * A leader that removes itself must leave the others able to go on without it. It steps down once it applies its
 * removal; if the others never hear that the removal committed, they keep counting votes with the old configuration,
 * in which the removed node (gone for good once it exits) still counts: with one more voter away, nobody can win.
 */
import { describe, expect, test } from "bun:test";
import { bytes, E, TestCluster } from "./harness.ts";

describe("a leader that removes itself", () => {
  test("tells the remaining voters that its removal committed, even when their window is full, before it steps down", () => {
    // One entry per append and one append in flight per follower: the commit of the removal cannot ride on an append.
    const c = new TestCluster([1, 2, 3, 4], { preVote: false, maxInflight: 1, maxMsgBytes: 1 });
    c.elect(1);
    c.isolate(3);
    const leader = c.node(1);
    const { index } = leader.raft.proposeConfChange({ op: "remove", id: 1 });
    leader.raft.propose(bytes(9));
    // The followers' acknowledgements of the entry after the removal are lost: nobody is as up to date as the leader
    // when it applies its removal, so it has no one to hand over to. The appends that would carry the commit of the
    // removal are lost too.
    c.drop.push((m) => m.type === "appendResponse" && m.index > index);
    c.drop.push((m) => m.type === "append" && m.commit >= index);
    c.deliver(leader.flush());
    for (let i = 0; i < 3 && leader.raft.role === "leader"; i++) c.deliver(leader.flush());
    expect(leader.raft.role).toBe("follower");
    expect(leader.raft.membership.voters).toEqual([2, 3, 4]);
    // The removed node exits; node 3 is still away. Nodes 2 and 4 are a majority of {2, 3, 4}, not of {1, 2, 3, 4}.
    c.heal();
    c.isolate(1);
    c.isolate(3);
    c.nodes.delete(1);
    for (let t = 0; t < 4 * E && ![2, 4].some((id) => c.node(id).raft.role === "leader"); t++) {
      for (const id of [2, 4]) {
        c.node(id).raft.tick();
        c.deliver(c.node(id).flush());
      }
    }
    expect([2, 4].map((id) => [id, c.node(id).raft.membership.voters])).toEqual([
      [2, [2, 3, 4]],
      [4, [2, 3, 4]],
    ]);
    expect([2, 4].some((id) => c.node(id).raft.role === "leader")).toBe(true);
  });
});
