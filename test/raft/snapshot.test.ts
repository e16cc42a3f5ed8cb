/** §7 Log compaction: snapshots taken by the application and sent, in chunks, to followers that fell behind. */
import { describe, expect, test } from "bun:test";
import { bytes, errorOf, members, ofType, TestCluster, TestNode } from "./harness.ts";

const options = { preVote: false, maxSnapshotChunk: 4 };

/** Leader 1 commits entries 2..4 while node 3 is cut off, then snapshots at 4 and keeps its log from `keepFrom`. */
function behindSnapshot(keepFrom: number, isolateAfter = 1): TestCluster {
  const c = new TestCluster([1, 2, 3], options);
  c.elect(1);
  for (let i = 2; i <= isolateAfter; i++) c.propose(1, bytes(i));
  const cut = c.isolate(3);
  for (let i = isolateAfter + 1; i <= 4; i++) c.propose(1, bytes(i));
  const leader = c.node(1);
  const snap = { meta: leader.raft.compact(4), data: bytes(0, 1, 2, 3, 4, 5, 6, 7, 8, 9) };
  leader.log.saveSnapshot(snap);
  leader.log.compact(keepFrom - 1);
  c.drop.splice(c.drop.indexOf(cut), 1);
  return c;
}

describe("§7 snapshots", () => {
  test("compact() describes the application's state with the term and membership at that index", () => {
    const c = new TestCluster([1, 2, 3], options);
    c.elect(1);
    const leader = c.node(1);
    leader.raft.proposeConfChange({ op: "addLearner", id: 4, address: "x:4" });
    c.deliver(leader.flush());
    const before = { meta: leader.raft.compact(1), data: bytes(1) };
    expect(before.meta).toEqual({ index: 1, term: 1, membership: members([1, 2, 3]) });
    leader.log.saveSnapshot(before);
    const after = { meta: leader.raft.compact(2), data: bytes(2) };
    expect(after.meta.membership.learners).toEqual([4]);
    leader.log.saveSnapshot(after);
    const misuse = (index: number) => errorOf(() => leader.raft.compact(index));
    expect(misuse(2)).toBe("BAD_USAGE: snapshot index 2 must be in (2, 2] (saved, applied]");
    expect(misuse(3)).toBe("BAD_USAGE: snapshot index 3 must be in (2, 2] (saved, applied]");
  });

  test("a follower that needs compacted entries receives the snapshot in chunks, installs it, then gets the rest", () => {
    const c = behindSnapshot(5);
    c.node(1).raft.tick();
    c.deliver(c.node(1).flush());
    const chunks = ofType(c.delivered, "snapshot").map((m) => [m.meta.index, m.offset, m.data.length, m.done]);
    expect(chunks).toEqual([
      [4, 0, 4, false],
      [4, 4, 4, false],
      [4, 8, 2, true],
    ]);
    expect(ofType(c.delivered, "snapshotResponse").map((m) => m.offset)).toEqual([4, 8]);
    const follower = c.node(3);
    expect(follower.installed.map((s) => [s.meta.index, s.meta.term, [...s.data]])).toEqual([
      [4, 1, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]],
    ]);
    expect(follower.raft.appliedIndex).toBe(4);
    expect(follower.raft.membership).toEqual(members([1, 2, 3]));
    expect(
      c
        .node(1)
        .raft.status()
        .peers.find((p) => p.id === 3),
    ).toMatchObject({ state: "replicate", match: 4 });
    const index = c.propose(1, bytes(5));
    expect(follower.applied.at(-1)?.index).toBe(index);
  });

  test("a follower behind the snapshot but not behind the retained log gets entries, not the snapshot", () => {
    const c = behindSnapshot(3, 2);
    c.node(1).raft.tick();
    c.deliver(c.node(1).flush());
    expect(ofType(c.delivered, "snapshot")).toEqual([]);
    expect(c.node(3).applied.map((e) => e.index)).toEqual([1, 2, 3, 4]);
  });

  test("a node restarted after installing a snapshot resumes from it", () => {
    const c = behindSnapshot(5);
    c.node(1).raft.tick();
    c.deliver(c.node(1).flush());
    const follower = c.node(3);
    follower.restart();
    expect(follower.raft.appliedIndex).toBe(4);
    expect(follower.raft.commitIndex).toBe(4);
    expect(follower.raft.membership).toEqual(members([1, 2, 3]));
  });

  test("chunks out of order are answered with the offset the follower needs", () => {
    const f = new TestNode(2, members([1, 2, 3]), options);
    const meta = { index: 9, term: 1, membership: members([1, 2, 3]) };
    const chunk = (offset: number, done = false) =>
      ({ type: "snapshot", from: 1, to: 2, term: 1, meta, offset, data: bytes(1, 2, 3, 4), done }) as const;
    const offsets = (msgs: ReturnType<TestNode["step"]>) => ofType(msgs, "snapshotResponse").map((m) => m.offset);
    expect(offsets(f.step(chunk(4)))).toEqual([0]);
    expect(offsets(f.step(chunk(0)))).toEqual([4]);
    expect(offsets(f.step(chunk(0)))).toEqual([4]);
    expect(offsets(f.step(chunk(8)))).toEqual([4]);
    expect(offsets(f.step(chunk(4)))).toEqual([8]);
    expect(f.step(chunk(8, true))).toEqual([
      { type: "appendResponse", from: 2, to: 1, term: 1, index: 9, reject: false, hintIndex: 0, hintTerm: 0 },
    ]);
    expect(f.installed.map((s) => s.data.length)).toEqual([12]);
  });
});
