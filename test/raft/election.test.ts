/** §5.2 Leader election, with check-quorum (§6.2 of the dissertation, as in etcd). */
import { describe, expect, test } from "bun:test";
import { type Entry, EntryKind, MemoryLog, RaftNode } from "../../src/raft/index.ts";
import { createPrng } from "../../src/util/prng.ts";
import { E, members, TestCluster, TestNode } from "./harness.ts";

const noPreVote = { preVote: false };

describe("§5.2 leader election", () => {
  test("a follower that hears nothing campaigns within [E, 2E) ticks: it persists term+1 and its own vote, then asks every voter", () => {
    const n = new TestNode(1, members([1, 2, 3]), noPreVote);
    let ticks = 0;
    let msgs: ReturnType<TestNode["flush"]> = [];
    while (msgs.length === 0) {
      n.raft.tick();
      ticks++;
      msgs = n.flush();
    }
    expect(ticks).toBeGreaterThanOrEqual(E);
    expect(ticks).toBeLessThan(2 * E);
    expect(n.readies.at(-1)?.hardState).toEqual({ term: 1, vote: 1, commit: 0 });
    expect(msgs).toEqual([
      { type: "vote", from: 1, to: 2, term: 1, lastIndex: 0, lastTerm: 0, transfer: false, commit: 0, commitTerm: 0 },
      { type: "vote", from: 1, to: 3, term: 1, lastIndex: 0, lastTerm: 0, transfer: false, commit: 0, commitTerm: 0 },
    ]);
    expect(n.raft.role).toBe("candidate");
  });

  test("election timeouts are spread over [E, 2E) by the PRNG", () => {
    const seen = new Set<number>();
    for (let seed = 1; seed <= 200; seed++) {
      const log = new MemoryLog();
      log.applySnapshot({ meta: { index: 0, term: 0, membership: members([1, 2, 3]) }, data: new Uint8Array(0) });
      const raft = new RaftNode({ id: 1, prng: createPrng(seed), electionTicks: E, preVote: false }, log);
      let ticks = 0;
      while (raft.role === "follower") {
        raft.tick();
        ticks++;
      }
      seen.add(ticks);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
  });

  test("a candidate with a majority of votes becomes leader and sends its no-op entry to every follower", () => {
    const n = new TestNode(1, members([1, 2, 3]), noPreVote);
    n.tickUntilMessages();
    const msgs = n.step({ type: "voteResponse", from: 2, to: 1, term: 1, reject: false });
    expect(n.raft.role).toBe("leader");
    const noop: Entry = { index: 1, term: 1, kind: EntryKind.Normal, data: new Uint8Array(0) };
    expect(n.readies.at(-1)?.entries).toEqual([noop]);
    expect(msgs).toEqual([
      { type: "append", from: 1, to: 2, term: 1, index: 0, logTerm: 0, entries: [noop], commit: 0 },
      { type: "append", from: 1, to: 3, term: 1, index: 0, logTerm: 0, entries: [noop], commit: 0 },
    ]);
  });

  test("a single voter becomes leader only once its own vote is persisted", () => {
    const n = new TestNode(1, members([1]), noPreVote);
    for (let i = 0; i < 2 * E && !n.raft.hasReady(); i++) n.raft.tick();
    const rd = n.raft.ready();
    expect(rd.hardState).toEqual({ term: 1, vote: 1, commit: 0 });
    expect(n.raft.role).toBe("candidate");
    n.log.append(rd.entries);
    n.raft.advance(rd);
    expect(n.raft.role).toBe("leader");
  });

  test("a node votes at most once per term, and remembers its vote across a restart", () => {
    const n = new TestNode(2, members([1, 2, 3]), noPreVote);
    const ask = (from: number) =>
      ({ type: "vote", from, to: 2, term: 1, lastIndex: 0, lastTerm: 0, transfer: false }) as const;
    const known = { commit: 0, commitTerm: 0 };
    expect(n.step(ask(1))).toEqual([{ type: "voteResponse", from: 2, to: 1, term: 1, reject: false, ...known }]);
    expect(n.hardState).toEqual({ term: 1, vote: 1, commit: 0 });
    expect(n.step(ask(3))).toEqual([{ type: "voteResponse", from: 2, to: 3, term: 1, reject: true, ...known }]);
    n.restart();
    expect(n.step(ask(3))).toEqual([{ type: "voteResponse", from: 2, to: 3, term: 1, reject: true, ...known }]);
    expect(n.step(ask(1))).toEqual([{ type: "voteResponse", from: 2, to: 1, term: 1, reject: false, ...known }]);
  });

  test("a candidate that hears from the leader of its term becomes its follower", () => {
    const n = new TestNode(1, members([1, 2, 3]), noPreVote);
    n.tickUntilMessages();
    const msgs = n.step({
      type: "heartbeat",
      from: 2,
      to: 1,
      term: 1,
      commit: 0,
      cluster: { membership: members([1, 2, 3]), reachable: [1, 2, 3] },
    });
    expect(n.raft.role).toBe("follower");
    expect(n.raft.leader).toBe(2);
    expect(msgs).toEqual([{ type: "heartbeatResponse", from: 1, to: 2, term: 1 }]);
  });

  test("after a split vote the candidate times out and campaigns again in the next term", () => {
    const n = new TestNode(1, members([1, 2, 3, 4]), noPreVote);
    n.tickUntilMessages();
    n.step({ type: "voteResponse", from: 2, to: 1, term: 1, reject: false });
    n.step({ type: "voteResponse", from: 3, to: 1, term: 1, reject: true });
    expect(n.raft.role).toBe("candidate");
    const again = n.tickUntilMessages();
    expect(again.map((m) => [m.type, m.to, m.term])).toEqual([
      ["vote", 2, 2],
      ["vote", 3, 2],
      ["vote", 4, 2],
    ]);
  });

  test("a candidate rejected by a majority steps down", () => {
    const n = new TestNode(1, members([1, 2, 3]), noPreVote);
    n.tickUntilMessages();
    n.step({ type: "voteResponse", from: 2, to: 1, term: 1, reject: true });
    n.step({ type: "voteResponse", from: 3, to: 1, term: 1, reject: true });
    expect(n.raft.role).toBe("follower");
    expect(n.raft.term).toBe(1);
  });

  test("the leader sends a heartbeat every heartbeat tick, carrying its cluster map", () => {
    const c = new TestCluster([1, 2, 3], noPreVote);
    c.elect(1);
    const leader = c.node(1);
    leader.raft.tick();
    const cluster = { membership: members([1, 2, 3]), reachable: [1, 2, 3] };
    expect(leader.flush()).toEqual([
      { type: "heartbeat", from: 1, to: 2, term: 1, commit: 1, cluster },
      { type: "heartbeat", from: 1, to: 3, term: 1, commit: 1, cluster },
    ]);
  });

  test("a learner never campaigns", () => {
    const n = new TestNode(4, members([1, 2, 3], [4]), noPreVote);
    for (let i = 0; i < 5 * E; i++) n.raft.tick();
    expect(n.flush()).toEqual([]);
    expect(n.raft.role).toBe("follower");
  });
});

describe("check-quorum", () => {
  test("a leader that hears from no majority for an election timeout steps down", () => {
    const c = new TestCluster([1, 2, 3], noPreVote);
    c.elect(1);
    c.isolate(1);
    const leader = c.node(1);
    for (let i = 0; i < E - 1; i++) {
      leader.raft.tick();
      leader.flush();
    }
    expect(leader.raft.role).toBe("leader");
    for (let i = 0; i < E + 1; i++) {
      leader.raft.tick();
      leader.flush();
    }
    expect(leader.raft.role).toBe("follower");
    expect(leader.raft.term).toBe(1);
  });

  test("a leader that keeps hearing from a majority stays leader", () => {
    const c = new TestCluster([1, 2, 3], noPreVote);
    c.elect(1);
    c.drop.push((m) => m.from === 3 || m.to === 3);
    for (let i = 0; i < 5 * E; i++) {
      c.node(1).raft.tick();
      c.deliver(c.node(1).flush());
    }
    expect(c.node(1).raft.role).toBe("leader");
    expect(c.node(1).raft.status().cluster?.reachable).toEqual([1, 2]);
  });

  test("a follower with a live leader ignores a vote request of a higher term; without check-quorum it votes", () => {
    for (const checkQuorum of [true, false]) {
      const c = new TestCluster([1, 2, 3], { preVote: false, checkQuorum });
      c.elect(1);
      const follower = c.node(2);
      const msgs = follower.step({ type: "vote", from: 3, to: 2, term: 5, lastIndex: 1, lastTerm: 1, transfer: false });
      if (checkQuorum) {
        expect(msgs).toEqual([]);
        expect(follower.raft.term).toBe(1);
      } else {
        expect(msgs).toEqual([
          { type: "voteResponse", from: 2, to: 3, term: 5, reject: false, commit: 1, commitTerm: 1 },
        ]);
      }
    }
  });

  test("a stale leader that sends to a node of a later term is answered, and steps down", () => {
    // Without check-quorum the cut-off leader keeps leading; pre-vote alone must unseat it.
    const c = new TestCluster([1, 2, 3], { preVote: true, checkQuorum: false });
    c.elect(1);
    c.isolate(1);
    for (let i = 0; i < 4 * E && c.node(2).raft.role !== "leader" && c.node(3).raft.role !== "leader"; i++) {
      for (const id of [2, 3]) {
        c.node(id).raft.tick();
        c.deliver(c.node(id).flush());
      }
    }
    expect(c.node(1).raft.role).toBe("leader");
    expect(c.node(2).raft.term).toBe(2);
    c.heal();
    const old = c.node(1);
    old.raft.tick();
    const hb = old.flush().find((m) => m.to === 3);
    expect(hb?.type).toBe("heartbeat");
    const answer = c.node(3).step(hb as NonNullable<typeof hb>);
    expect(answer).toEqual([
      { type: "appendResponse", from: 3, to: 1, term: 2, index: 0, reject: false, hintIndex: 0, hintTerm: 0 },
    ]);
    old.step(answer[0] as NonNullable<(typeof answer)[0]>);
    expect(old.raft.role).toBe("follower");
    expect(old.raft.term).toBe(2);
  });

  test("the only voter of a cluster leads at its first tick instead of waiting out an election timeout", () => {
    const c = new TestCluster([1], { preVote: true });
    const node = c.node(1);
    node.raft.tick();
    node.flush();
    expect(node.raft.role).toBe("leader");
    expect(node.raft.term).toBe(1);
  });
});
