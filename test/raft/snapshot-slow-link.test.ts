/**
 * A snapshot sent over a link slower than the heartbeat: one chunk takes several heartbeat intervals to cross. The
 * leader resends the current chunk when a heartbeat answer comes (chunks and answers may be lost), and every answer
 * to a chunk makes it send the chunk the follower needs next. Each resend must not start a chain of its own: if
 * every duplicate answer sends a chunk again, the copies queue on the link, each chunk takes longer to cross, more
 * heartbeats resend it, and the bytes sent grow far beyond the snapshot's size.
 */
import { describe, expect, test } from "bun:test";
import type { Message } from "../../src/raft/index.ts";
import { bytes, E, TestCluster } from "./harness.ts";

const SNAPSHOT_BYTES = 160;

/** Leader 1 snapshots at 4 (SNAPSHOT_BYTES of state, sent in chunks of `chunk`) and drops its log; node 3 missed it. */
function followerBehindSnapshot(chunk: number): TestCluster {
  const c = new TestCluster([1, 2, 3], { preVote: false, maxSnapshotChunk: chunk });
  c.elect(1);
  const cut = c.isolate(3);
  for (let i = 2; i <= 4; i++) c.propose(1, bytes(i));
  const leader = c.node(1);
  const data = new Uint8Array(SNAPSHOT_BYTES).map((_, i) => i % 251);
  leader.log.saveSnapshot({ meta: leader.raft.compact(4), data });
  leader.log.compact(4);
  c.drop.splice(c.drop.indexOf(cut), 1);
  return c;
}

/**
 * Every tick each node ticks. Snapshot chunks from 1 to 3 wait in a first-in first-out queue that passes
 * `bytesPerTick` bytes of chunk data per tick (the bulk lane of a slow link); every other message arrives within the
 * tick.
 */
function runSlowLink(c: TestCluster, bytesPerTick: number, ticks: number): { sentBytes: number; ticks: number } {
  const link: { m: Message; left: number }[] = [];
  let sentBytes = 0;
  const fast: Message[] = [];
  const route = (msgs: Message[]) => {
    for (const m of msgs) {
      if (m.from === 1 && m.to === 3 && m.type === "snapshot") {
        sentBytes += m.data.length;
        link.push({ m, left: m.data.length });
      } else fast.push(m);
    }
  };
  const follower = c.node(3);
  for (let t = 0; t < ticks; t++) {
    if (follower.installed.length > 0) return { sentBytes, ticks: t };
    for (const node of c.nodes.values()) {
      node.raft.tick();
      route(node.flush());
    }
    let budget = bytesPerTick;
    const arrived: Message[] = [];
    while (link.length > 0 && budget > 0) {
      const head = link[0] as { m: Message; left: number };
      const take = Math.min(budget, head.left);
      head.left -= take;
      budget -= take;
      if (head.left === 0) arrived.push((link.shift() as { m: Message }).m);
    }
    fast.push(...arrived);
    while (fast.length > 0) {
      const m = fast.shift() as Message;
      const to = c.nodes.get(m.to);
      if (to !== undefined) route(to.step(m));
    }
  }
  return { sentBytes, ticks };
}

describe("a snapshot over a link slower than the heartbeat", () => {
  // [chunk bytes, link bytes per tick]: a chunk crosses in half a tick, 2 ticks, 4 ticks, 20 ticks (two election
  // timeouts: the answer is overdue once before it comes).
  const links = [
    [4, 8],
    [4, 2],
    [4, 1],
    [40, 2],
  ] as const;
  for (const [chunk, bytesPerTick] of links) {
    test(`is sent about once, not again at every heartbeat answer (chunks of ${chunk} bytes, ${bytesPerTick} bytes per tick)`, () => {
      const c = followerBehindSnapshot(chunk);
      const { sentBytes, ticks } = runSlowLink(c, bytesPerTick, 100 * SNAPSHOT_BYTES);
      // Before: the copies grew with every heartbeat and the transfer never ended (over 100,000 bytes sent for 160).
      const bound = `at most ${2 * SNAPSHOT_BYTES}`;
      expect({
        installed: c.node(3).installed.map((s) => s.meta.index),
        sentBytes: sentBytes <= 2 * SNAPSHOT_BYTES ? bound : sentBytes,
      }).toEqual({ installed: [4], sentBytes: bound });
      expect(ticks).toBeLessThan(2 * (SNAPSHOT_BYTES / bytesPerTick) + 4 * E);
    });
  }
});
