/**
 * A leader that removes itself must leave the others able to go on without it. It steps down once it applies its
 * removal; if the others never hear that the removal committed, they keep counting votes with the old configuration,
 * in which the removed node (gone for good once it exits) still counts: with one more voter away, nobody can win.
 */
import { describe, expect, test } from "bun:test";
import { bytes, E, ofType, TestCluster } from "./harness.ts";

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

/**
 * Leader 1 of {1, 2, 3} removes itself; everything is delivered and answered except what it sends once it applied
 * its removal (the commit of the removal, then TimeoutNow to its heir), which its heir then steps before its next
 * Ready, as a driver steps every frame of one read before it runs the Ready that applies the commit they carry.
 */
function heirStepsCommitAndTimeoutNow(): { c: TestCluster; heir: number } {
  const c = new TestCluster([1, 2, 3], { preVote: false });
  c.elect(1);
  const leader = c.node(1);
  leader.raft.proposeConfChange({ op: "remove", id: 1 });
  let msgs = leader.flush();
  for (let round = 0; round < 10 && leader.raft.role === "leader"; round++) {
    const replies = msgs.flatMap((m) => c.node(m.to).step(m));
    for (const m of replies) leader.raft.step(m);
    msgs = leader.flush();
  }
  expect(leader.raft.role).toBe("follower");
  const heir = msgs.find((m) => m.type === "timeoutNow")?.to;
  if (heir === undefined) throw new Error(`no TimeoutNow among ${msgs.map((m) => m.type).join(", ")}`);
  for (const m of msgs.filter((m) => m.to === heir)) c.node(heir).raft.step(m);
  return { c, heir };
}

describe("the voter a removed leader hands over to", () => {
  test("campaigns once it applied the removal, when the commit and TimeoutNow reach it before its next Ready", () => {
    const { c, heir } = heirStepsCommitAndTimeoutNow();
    const node = c.node(heir);
    const sent = node.flush();
    expect({
      voters: node.raft.membership.voters,
      role: node.raft.role,
      votes: ofType(sent, "vote").map((m) => [m.to, m.transfer]),
    }).toEqual({ voters: [2, 3], role: "candidate", votes: [[heir === 2 ? 3 : 2, true]] });
    c.deliver(sent);
    expect(node.raft.role).toBe("leader");
  });

  test("does not campaign for a TimeoutNow older than an election timeout when it applies the removal", () => {
    const { c, heir } = heirStepsCommitAndTimeoutNow();
    const node = c.node(heir);
    // Its Ready runs only after an election timeout: the leader that asked gave up on the transfer by then.
    for (let t = 0; t < E; t++) node.raft.tick();
    const sent = node.flush();
    expect({ voters: node.raft.membership.voters, votes: ofType(sent, "vote").length }).toEqual({
      voters: [2, 3],
      votes: 0,
    });
  });
});
