/** The Ready contract between the core and its driver, including calls made while a Ready is outstanding. */
import { describe, expect, test } from "bun:test";
import type { Message } from "../../src/raft/index.ts";
import { MemoryLog, RaftNode } from "../../src/raft/index.ts";
import { createPrng } from "../../src/util/prng.ts";
import { bytes, E, errorOf, members, ofType, TestCluster, TestNode } from "./harness.ts";

const entry = (index: number, term: number) => ({ index, term, kind: 0 as const, data: bytes(index) });

describe("Ready", () => {
  test("a node with nothing to do has no Ready", () => {
    const n = new TestNode(1, members([1, 2, 3]));
    expect(n.raft.hasReady()).toBe(false);
  });

  test("one Ready is outstanding at a time", () => {
    const n = new TestNode(2, members([1, 2, 3]));
    n.raft.step({ type: "append", from: 1, to: 2, term: 1, index: 0, logTerm: 0, entries: [entry(1, 1)], commit: 0 });
    const rd = n.raft.ready();
    n.raft.step({ type: "append", from: 1, to: 2, term: 1, index: 1, logTerm: 1, entries: [entry(2, 1)], commit: 0 });
    expect(n.raft.hasReady()).toBe(false);
    expect(errorOf(() => n.raft.ready())).toBe("INTERNAL: ready() called before advance() of the previous Ready");
    expect(errorOf(() => n.raft.advance({ ...rd }))).toBe(
      "INTERNAL: advance() of a Ready that is not the outstanding one",
    );
  });

  test("entries and messages that arrive while a Ready is being written go out in the next one", () => {
    const n = new TestNode(2, members([1, 2, 3]));
    n.raft.step({ type: "append", from: 1, to: 2, term: 1, index: 0, logTerm: 0, entries: [entry(1, 1)], commit: 0 });
    const first = n.raft.ready();
    n.raft.step({ type: "append", from: 1, to: 2, term: 1, index: 1, logTerm: 1, entries: [entry(2, 1)], commit: 1 });
    expect(n.raft.termAt(2)).toBe(1);
    n.log.append(first.entries);
    n.raft.advance(first);
    const second = n.raft.ready();
    expect(second.entries).toEqual([entry(2, 1)]);
    expect(second.hardState).toEqual({ term: 1, vote: 0, commit: 1 });
    expect(second.committed).toEqual([entry(1, 1)]);
    expect(second.messages).toEqual([
      { type: "appendResponse", from: 2, to: 1, term: 1, index: 2, reject: false, hintIndex: 0, hintTerm: 0 },
    ]);
  });

  test("entries replaced by a new leader while being written are written again", () => {
    const n = new TestNode(2, members([1, 2, 3]));
    n.raft.step({
      type: "append",
      from: 1,
      to: 2,
      term: 1,
      index: 0,
      logTerm: 0,
      entries: [entry(1, 1), entry(2, 1)],
      commit: 1,
    });
    const first = n.raft.ready();
    n.raft.step({ type: "append", from: 3, to: 2, term: 2, index: 1, logTerm: 1, entries: [entry(2, 2)], commit: 1 });
    n.log.append(first.entries);
    n.raft.advance(first);
    n.flush();
    expect(n.persistedTerms()).toEqual([1, 2]);
  });

  test("the hard state is in a Ready only when it changed", () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    const f = c.node(2);
    f.step({
      type: "heartbeat",
      from: 1,
      to: 2,
      term: 1,
      commit: 1,
      cluster: { membership: members([1, 2, 3]), reachable: [1, 2, 3] },
    });
    expect(f.readies.at(-1)?.hardState).toBeUndefined();
    expect(f.readies.at(-1)?.messages.map((m) => m.type)).toEqual(["heartbeatResponse"]);
  });

  test("proposals go to the leader only, and must carry data", () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    expect(errorOf(() => c.node(2).raft.propose(bytes(1)))).toBe("NOT_LEADER: node 1 is the leader");
    expect(errorOf(() => new TestNode(4, members([1, 2, 3])).raft.propose(bytes(1)))).toBe(
      "NOT_LEADER: no leader is known",
    );
    expect(errorOf(() => c.node(1).raft.propose(bytes()))).toBe(
      "BAD_USAGE: a proposal must carry data (empty entries are the leader's no-ops)",
    );
  });

  test("a restart whose hard state commits entries the log lacks is refused as corruption", () => {
    const log = new MemoryLog();
    log.append([entry(1, 1)]);
    const start = () =>
      new RaftNode({ id: 1, prng: createPrng(1), electionTicks: E }, log, { term: 1, vote: 0, commit: 3 });
    expect(errorOf(start)).toBe("CORRUPT: raft log: commit index 3 is beyond last index 1");
  });

  test("a restart whose saved commit index lags the applied index resumes from the applied index", () => {
    const log = new MemoryLog();
    log.append([entry(1, 1), entry(2, 1), entry(3, 1)]);
    const raft = new RaftNode({ id: 1, prng: createPrng(1), electionTicks: E, applied: 2 }, log, {
      term: 1,
      vote: 0,
      commit: 1,
    });
    expect([raft.commitIndex, raft.appliedIndex, raft.hasReady()]).toEqual([2, 2, true]);
    expect(raft.ready()).toMatchObject({ hardState: { term: 1, vote: 0, commit: 2 }, committed: [] });
  });
});

describe("cluster map", () => {
  test("followers learn the leader's members, addresses and reachable nodes from heartbeats", () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    c.isolate(3);
    c.tickAll(E + 2);
    const status = c.node(2).raft.status();
    expect(status.leader).toBe(1);
    expect(status.cluster).toEqual({ membership: members([1, 2, 3]), reachable: [1, 2] });
    expect(
      c
        .node(1)
        .raft.status()
        .peers.map((p) => [p.id, p.reachable]),
    ).toEqual([
      [2, true],
      [3, false],
    ]);
  });
});

describe("a leader that does not wait for its own fsync", () => {
  /** The leader writes its Ready and hands it back as not yet durable; returns what it sent. */
  function leaderCycle(n: TestNode): Message[] {
    const rd = n.raft.ready();
    n.log.append(rd.entries);
    n.raft.advance(rd, false);
    return rd.messages;
  }

  test("its entries commit on two followers' acknowledgements, or on one follower's once its own fsync is done", () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    const leader = c.node(1);
    const start = leader.raft.commitIndex;
    const index = leader.raft.propose(bytes(1)).index;
    const appends = ofType(leaderCycle(leader), "append");
    expect(appends.map((m) => m.to).sort()).toEqual([2, 3]);
    // one follower has it: not a majority while the leader's own copy is not durable
    const fromTwo = c.node(2).step(appends.find((m) => m.to === 2) as Message);
    leader.raft.step(fromTwo.find((m) => m.type === "appendResponse") as Message);
    expect(leader.raft.commitIndex).toBe(start);
    // the leader's fsync ends: itself and node 2 are a majority
    leader.raft.persistedTo(index, leader.raft.term);
    expect(leader.raft.commitIndex).toBe(index);
  });

  test("two followers are a majority without the leader", () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    const leader = c.node(1);
    const index = leader.raft.propose(bytes(1)).index;
    const appends = ofType(leaderCycle(leader), "append");
    for (const to of [2, 3]) {
      const replies = c.node(to).step(appends.find((m) => m.to === to) as Message);
      leader.raft.step(replies.find((m) => m.type === "appendResponse") as Message);
    }
    expect(leader.raft.commitIndex).toBe(index);
  });

  test("a report for a term it no longer leads in changes nothing", () => {
    const c = new TestCluster([1, 2, 3]);
    c.elect(1);
    const leader = c.node(1);
    const index = leader.raft.propose(bytes(1)).index;
    leaderCycle(leader);
    const term = leader.raft.term;
    leader.raft.step({
      type: "heartbeat",
      from: 2,
      to: 1,
      term: term + 1,
      commit: 0,
      cluster: { membership: members([1, 2, 3]), reachable: [1, 2, 3] },
    });
    leader.raft.persistedTo(index, term);
    expect(leader.raft.role).toBe("follower");
    expect(leader.raft.commitIndex).toBeLessThan(index);
  });
});
