/**
 * A follower catching up over a network that reorders messages (the simulator's networks do; a TCP link does not,
 * but a reconnect or a later transport may). Rejections then arrive for appends overtaken by later ones, and
 * acknowledgements from an old window arrive after a newer decision. The leader must stay within a bounded number
 * of messages: a rejection that may answer an append sent before its last step back must not send the whole
 * window again, or every window breeds more windows (the broker-level simulation's "message storm").
 */
import { describe, expect, test } from "bun:test";
import { MemoryLog, type Message } from "../../src/raft/index.ts";
import { createPrng, type Prng } from "../../src/util/prng.ts";
import { bytes, TestCluster as Cluster, type TestCluster, type TestNode } from "./harness.ts";

const ENTRIES = 100;
/** Far above what catching up 100 one-entry messages needs; the storm passes it within a few ticks. */
const MAX_QUEUED = 5000;
/** Two full windows of 100 one-entry appends, their answers and the heartbeats: what one round trip may carry. */
const PEAK_BOUND = 500;
/** Ticks to catch up: under a full shuffle the follower keeps only the in-order prefix of each window. */
const TICKS = 200;

/**
 * Every tick: each node ticks, then everything queued is delivered in a random order, replies included, as a
 * network with jitter larger than the gap between sends would deliver it.
 */
function runShuffled(c: TestCluster, prng: Prng, ticks: number, done: () => boolean): { peak: number } {
  let peak = 0;
  const queue: Message[] = [];
  const enqueue = (msgs: Message[]) => {
    queue.push(...msgs);
    peak = Math.max(peak, queue.length);
    if (queue.length > MAX_QUEUED) throw new Error(`message storm: ${queue.length} messages queued`);
  };
  for (let t = 0; t < ticks && !done(); t++) {
    for (const node of c.nodes.values()) {
      node.raft.tick();
      enqueue(node.flush());
    }
    while (queue.length > 0) {
      const at = prng.int(0, queue.length - 1);
      const m = queue[at] as Message;
      queue[at] = queue[queue.length - 1] as Message;
      queue.pop();
      enqueue(c.node(m.to).step(m));
    }
  }
  return { peak };
}

/** Leader 1 of three, with ENTRIES one-entry messages that node 3 missed. */
function followerBehind(): TestCluster {
  const c = new Cluster([1, 2, 3], { preVote: false, maxMsgBytes: 1 });
  c.elect(1);
  c.isolate(3);
  for (let i = 0; i < ENTRIES; i++) c.propose(1, bytes(i));
  c.heal();
  return c;
}

const caughtUp = (leader: TestNode, follower: TestNode) => () =>
  follower.raft.lastIndex() === leader.raft.lastIndex() && follower.raft.commitIndex === leader.raft.commitIndex;

describe("catching up over a reordering network", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    test(`a follower 100 entries behind catches up with a bounded number of messages in flight (seed ${seed})`, () => {
      const c = followerBehind();
      const leader = c.node(1);
      const follower = c.node(3);
      const { peak } = runShuffled(c, createPrng(seed), TICKS, caughtUp(leader, follower));
      expect(follower.persistedTerms()).toEqual(leader.persistedTerms());
      // At most one step back (a window sent again) per heartbeat round trip.
      expect(peak).toBeLessThan(PEAK_BOUND);
    });

    test(`a repaired follower whose log lost what it acknowledged is refilled with a bounded number of messages in flight (seed ${seed})`, () => {
      const c = new Cluster([1, 2, 3], { preVote: false, maxMsgBytes: 1 });
      c.elect(1);
      for (let i = 0; i < ENTRIES; i++) c.propose(1, bytes(i));
      const leader = c.node(1);
      const follower = c.node(3);
      expect(follower.raft.lastIndex()).toBe(ENTRIES + 1);
      // The repair keeps entries 1..5; the node restarts on that log with its hard state's commit cut to match.
      const cut = new MemoryLog();
      cut.applySnapshot(follower.log.snapshot() as NonNullable<ReturnType<MemoryLog["snapshot"]>>);
      cut.append(follower.log.entries(1, 6));
      (follower as unknown as { log: MemoryLog }).log = cut;
      follower.hardState = { ...follower.hardState, commit: 5 };
      (follower as unknown as { appliedIndex: number }).appliedIndex = 5;
      follower.restart();
      // Proposals go on while it is refilled, so the leader streams to it in replicate state.
      let proposed = 0;
      const { peak } = runShuffled(c, createPrng(seed), TICKS, () => {
        if (proposed < 20) {
          leader.raft.propose(bytes(proposed++));
          return false;
        }
        return caughtUp(leader, follower)();
      });
      expect(follower.persistedTerms()).toEqual(leader.persistedTerms());
      expect(peak).toBeLessThan(PEAK_BOUND);
    });
  }
});
