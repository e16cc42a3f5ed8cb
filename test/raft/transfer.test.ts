/** Leadership transfer (dissertation §3.10): bring the target up to date, then TimeoutNow. */
import { describe, expect, test } from "bun:test";
import { bytes, E, errorOf, ofType, TestCluster } from "./harness.ts";

function leaderOfThree(): TestCluster {
  const c = new TestCluster([1, 2, 3]);
  c.elect(1);
  c.tickAll(1);
  return c;
}

describe("leadership transfer", () => {
  test("to an up-to-date voter: TimeoutNow at once, and it wins at once despite the other voters' leases", () => {
    const c = leaderOfThree();
    const leader = c.node(1);
    leader.raft.transferLeadership(2);
    const msgs = leader.flush();
    expect(msgs).toEqual([{ type: "timeoutNow", from: 1, to: 2, term: 1 }]);
    const before = c.delivered.length;
    c.deliver(msgs);
    const after = c.delivered.slice(before);
    expect(ofType(after, "vote").map((m) => [m.from, m.to, m.term, m.transfer])).toEqual([
      [2, 1, 2, true],
      [2, 3, 2, true],
    ]);
    expect(ofType(after, "preVote")).toEqual([]);
    expect(c.node(2).raft.role).toBe("leader");
    expect(leader.raft.role).toBe("follower");
  });

  test("to a lagging voter: it is caught up first, then told to campaign", () => {
    const c = leaderOfThree();
    const cut = c.isolate(3);
    c.propose(1, bytes(1));
    c.propose(1, bytes(2));
    c.drop.splice(c.drop.indexOf(cut), 1);
    const leader = c.node(1);
    leader.raft.transferLeadership(3);
    const msgs = leader.flush();
    expect(msgs.map((m) => m.type)).toEqual(["append"]);
    const before = c.delivered.length;
    c.deliver(msgs);
    const after = c.delivered.slice(before);
    const timeoutAt = after.findIndex((m) => m.type === "timeoutNow");
    const lastAck = ofType(after.slice(0, timeoutAt), "appendResponse")
      .filter((m) => m.from === 3)
      .at(-1);
    expect(after[timeoutAt]).toEqual({ type: "timeoutNow", from: 1, to: 3, term: 1 });
    expect(lastAck).toMatchObject({ reject: false, index: 3 });
    expect(c.node(3).raft.role).toBe("leader");
  });

  test("proposals are refused while a transfer is under way, and accepted again once it times out", () => {
    const c = leaderOfThree();
    c.isolate(2);
    const leader = c.node(1);
    leader.raft.transferLeadership(2);
    expect(errorOf(() => leader.raft.propose(bytes(1)))).toStartWith("UNAVAILABLE: leadership is being transferred");
    for (let i = 0; i < E; i++) leader.raft.tick();
    expect(leader.raft.status().leadTransferee).toBe(0);
    expect(errorOf(() => leader.raft.propose(bytes(1)))).toBe("no error");
  });

  test("only a leader transfers, and only to a voter", () => {
    const c = new TestCluster([1, 2], {}, [3]);
    c.elect(1);
    expect(errorOf(() => c.node(2).raft.transferLeadership(1))).toStartWith("NOT_LEADER:");
    expect(errorOf(() => c.node(1).raft.transferLeadership(3))).toStartWith("REFUSED:");
    expect(errorOf(() => c.node(1).raft.transferLeadership(7))).toStartWith("REFUSED:");
  });
});
