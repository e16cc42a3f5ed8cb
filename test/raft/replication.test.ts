/** §5.3 Log replication: consistency check, conflicts, fast backtracking, pipelining, batching, commit. */
import { describe, expect, test } from "bun:test";
import type { Entry, Message } from "../../src/raft/index.ts";
import { bytes, E, members, ofType, TestCluster, TestNode } from "./harness.ts";

const entry = (index: number, term: number, data: Uint8Array): Entry => ({ index, term, kind: 0, data });

/** A leader of term 1 (no-op at index 1 committed) with followers 2 and 3. */
function leaderOfThree(options = {}): TestCluster {
  const c = new TestCluster([1, 2, 3], { preVote: false, ...options });
  c.elect(1);
  return c;
}

describe("§5.3 log replication", () => {
  test("a proposal is persisted by the leader and sent to every follower after its predecessor", () => {
    const c = leaderOfThree();
    const leader = c.node(1);
    expect(leader.raft.propose(bytes(9))).toEqual({ index: 2, term: 1 });
    const rd = leader.raft.ready();
    expect(rd.entries).toEqual([entry(2, 1, bytes(9))]);
    expect(rd.messages).toEqual([
      { type: "append", from: 1, to: 2, term: 1, index: 1, logTerm: 1, entries: [entry(2, 1, bytes(9))], commit: 1 },
      { type: "append", from: 1, to: 3, term: 1, index: 1, logTerm: 1, entries: [entry(2, 1, bytes(9))], commit: 1 },
    ]);
  });

  test("a follower persists what it accepts before acknowledging it", () => {
    const c = leaderOfThree();
    const f = c.node(2);
    f.raft.step({
      type: "append",
      from: 1,
      to: 2,
      term: 1,
      index: 1,
      logTerm: 1,
      entries: [entry(2, 1, bytes(9))],
      commit: 1,
    });
    const rd = f.raft.ready();
    expect(rd.entries).toEqual([entry(2, 1, bytes(9))]);
    expect(rd.messages).toEqual([
      { type: "appendResponse", from: 2, to: 1, term: 1, index: 2, reject: false, hintIndex: 0, hintTerm: 0 },
    ]);
  });

  test("an entry commits once a majority persisted it, the leader's own copy counting only after advance()", () => {
    const c = leaderOfThree();
    const leader = c.node(1);
    leader.raft.propose(bytes(9));
    const rd = leader.raft.ready();
    leader.log.append(rd.entries);
    leader.raft.step({
      type: "appendResponse",
      from: 2,
      to: 1,
      term: 1,
      index: 2,
      reject: false,
      hintIndex: 0,
      hintTerm: 0,
    });
    expect(leader.raft.commitIndex).toBe(1);
    leader.raft.advance(rd);
    expect(leader.raft.commitIndex).toBe(2);
    const next = leader.raft.ready();
    expect(next.committed).toEqual([entry(2, 1, bytes(9))]);
    expect(next.hardState).toEqual({ term: 1, vote: 1, commit: 2 });
    // Followers learn the new commit index from a commit-only append.
    expect(ofType(next.messages, "append").map((m) => [m.to, m.entries.length, m.commit])).toEqual([
      [2, 0, 2],
      [3, 0, 2],
    ]);
  });

  test("followers apply an entry once the leader tells them it committed", () => {
    const c = leaderOfThree();
    c.propose(1, bytes(5));
    for (const id of [1, 2, 3]) expect(c.node(id).applied.map((e) => e.index)).toEqual([1, 2]);
  });

  test("a follower rejects an append whose predecessor it lacks and hints where its log ends", () => {
    const f = new TestNode(2, members([1, 2, 3]));
    const msgs = f.step({ type: "append", from: 1, to: 2, term: 2, index: 5, logTerm: 2, entries: [], commit: 0 });
    expect(msgs).toEqual([
      { type: "appendResponse", from: 2, to: 1, term: 2, index: 5, reject: true, hintIndex: 0, hintTerm: 0 },
    ]);
  });

  test("fast backtracking: one round trip per conflicting term, then the conflicting tail is replaced", () => {
    const leader = new TestNode(1, members([1, 2, 3]), { preVote: false });
    leader.seedLog([1, 1, 1, 4, 4, 4, 4], { term: 4, vote: 0, commit: 3 });
    const follower = new TestNode(2, members([1, 2, 3]), { preVote: false });
    follower.seedLog([1, 1, 1, 2, 2, 3, 3], { term: 3, vote: 0, commit: 2 });
    leader.tickUntilMessages();
    const probe = leader
      .step({ type: "voteResponse", from: 3, to: 1, term: 5, reject: false })
      .filter((m) => m.to === 2);
    expect(probe).toEqual([
      {
        type: "append",
        from: 1,
        to: 2,
        term: 5,
        index: 7,
        logTerm: 4,
        entries: [entry(8, 5, new Uint8Array(0))],
        commit: 3,
      },
    ]);
    const reject = follower.step(probe[0] as Message);
    expect(reject).toEqual([
      { type: "appendResponse", from: 2, to: 1, term: 5, index: 7, reject: true, hintIndex: 7, hintTerm: 3 },
    ]);
    // The leader has no entry of term 3: it skips back past all of its term-4 entries at once.
    const retry = leader.step(reject[0] as Message);
    expect(retry.map((m) => m.type === "append" && [m.index, m.logTerm, m.entries.map((e) => e.index)])).toEqual([
      [3, 1, [4, 5, 6, 7, 8]],
    ]);
    const ack = follower.step(retry[0] as Message);
    expect(ack).toEqual([
      { type: "appendResponse", from: 2, to: 1, term: 5, index: 8, reject: false, hintIndex: 0, hintTerm: 0 },
    ]);
    expect(follower.persistedTerms()).toEqual([1, 1, 1, 4, 4, 4, 4, 5]);
  });

  test("an append that repeats entries the follower holds truncates nothing", () => {
    const c = leaderOfThree();
    c.propose(1, bytes(1));
    c.propose(1, bytes(2));
    const f = c.node(2);
    const stale: Message = {
      type: "append",
      from: 1,
      to: 2,
      term: 1,
      index: 1,
      logTerm: 1,
      entries: [entry(2, 1, bytes(1))],
      commit: 1,
    };
    expect(f.step(stale)).toEqual([
      { type: "appendResponse", from: 2, to: 1, term: 1, index: 3, reject: false, hintIndex: 0, hintTerm: 0 },
    ]);
    expect(f.persistedTerms()).toEqual([1, 1, 1]);
  });

  test("pipelining: up to maxInflight appends go out unacknowledged, then the leader waits for acks", () => {
    const c = leaderOfThree({ maxInflight: 2 });
    const leader = c.node(1);
    const sentTo2: Message[] = [];
    for (let i = 0; i < 4; i++) {
      leader.raft.propose(bytes(i));
      sentTo2.push(...leader.flush().filter((m) => m.to === 2 && m.type === "append"));
    }
    expect(sentTo2.map((m) => m.type === "append" && m.entries.map((e) => e.index))).toEqual([[2], [3]]);
    const more = leader.step({
      type: "appendResponse",
      from: 2,
      to: 1,
      term: 1,
      index: 2,
      reject: false,
      hintIndex: 0,
      hintTerm: 0,
    });
    expect(more.filter((m) => m.to === 2).map((m) => m.type === "append" && m.entries.map((e) => e.index))).toEqual([
      [4, 5],
    ]);
  });

  test("batching: proposals made between two Readys go out together, split at maxMsgBytes", () => {
    const c = leaderOfThree({ maxMsgBytes: 10 });
    const leader = c.node(1);
    for (let i = 0; i < 5; i++) leader.raft.propose(new Uint8Array(4).fill(i));
    const msgs = leader.flush().filter((m) => m.to === 2);
    expect(msgs.map((m) => m.type === "append" && m.entries.map((e) => e.index))).toEqual([[2, 3], [4, 5], [6]]);
  });

  test("probe: a follower whose position is unknown gets one append at a time until it answers", () => {
    const c = leaderOfThree();
    const leader = c.node(1);
    c.isolate(2);
    c.propose(1, bytes(1));
    // Node 2 missed entry 2; its rejection of entry 3 puts it in probe state.
    leader.raft.propose(bytes(2));
    const toTwo = leader.flush().find((m) => m.to === 2) as Message;
    c.heal();
    const reject = c.node(2).step(toTwo);
    expect(reject).toEqual([
      { type: "appendResponse", from: 2, to: 1, term: 1, index: 2, reject: true, hintIndex: 1, hintTerm: 1 },
    ]);
    const probe = leader.step(reject[0] as Message);
    expect(probe.map((m) => m.type === "append" && [m.to, m.index, m.entries.map((e) => e.index)])).toEqual([
      [2, 1, [2, 3]],
    ]);
    leader.raft.propose(bytes(3));
    expect(leader.flush().filter((m) => m.to === 2)).toEqual([]);
    expect(leader.raft.status().peers.find((p) => p.id === 2)?.state).toBe("probe");
  });

  test("a heartbeat never lets a follower commit past what it is known to hold", () => {
    const c = leaderOfThree();
    c.isolate(3);
    c.propose(1, bytes(1));
    c.heal();
    c.drop.push((m) => m.type === "append");
    const leader = c.node(1);
    leader.raft.tick();
    const hb = leader.flush().filter((m) => m.type === "heartbeat");
    expect(hb.map((m) => m.type === "heartbeat" && [m.to, m.commit])).toEqual([
      [2, 2],
      [3, 1],
    ]);
  });

  test("a follower that was away catches up once it answers heartbeats again", () => {
    const c = leaderOfThree();
    c.isolate(3);
    for (let i = 0; i < 5; i++) c.propose(1, bytes(i));
    c.heal();
    c.tickAll(E);
    expect(c.node(3).applied.map((e) => e.index)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
