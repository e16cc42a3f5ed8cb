/**
 * A snapshot chunk lost while its follower could not be reached, then sent again: the answer to the copy says nothing
 * about the link's round trip (Karn's rule). Timed from the first copy, it made the leader wait twice a partition's
 * length before sending the next lost chunk again (core simulation seed 5038: 116 ticks, past the 60 it had to
 * converge after the network healed).
 */
import { describe, expect, test } from "bun:test";
import type { Message } from "../../src/raft/index.ts";
import { bytes, E, TestCluster } from "./harness.ts";

describe("a snapshot chunk sent again after a partition", () => {
  test("the next lost chunk is sent again within four election timeouts, not twice the partition", () => {
    const c = new TestCluster([1, 2, 3], { preVote: false, maxSnapshotChunk: 40 });
    c.elect(1);
    const cut = c.isolate(3);
    for (let i = 2; i <= 4; i++) c.propose(1, bytes(i));
    const leader = c.node(1);
    leader.log.saveSnapshot({ meta: leader.raft.compact(4), data: new Uint8Array(160).map((_, i) => i % 251) });
    leader.log.compact(4);
    c.drop.splice(c.drop.indexOf(cut), 1);
    // Chunks to node 3 are lost for 12 election timeouts (heartbeats pass); then the first copy of the second chunk.
    let tick = 0;
    let lostSecond = false;
    const sends: { tick: number; offset: number }[] = [];
    c.drop.push((m: Message) => {
      if (m.type !== "snapshot" || m.to !== 3) return false;
      sends.push({ tick, offset: m.offset });
      if (tick < 12 * E) return true;
      if (m.offset === 40 && !lostSecond) {
        lostSecond = true;
        return true;
      }
      return false;
    });
    for (; tick < 40 * E && c.node(3).installed.length === 0; tick++) c.tickAll(1);
    const second = sends.filter((s) => s.offset === 40).map((s) => s.tick);
    expect(c.node(3).installed.map((s) => s.meta.index)).toEqual([4]);
    expect(second.length).toBe(2);
    const waited = (second[1] as number) - (second[0] as number);
    if (waited > 4 * E)
      throw new Error(`the lost second chunk was sent again after ${waited} ticks, expected at most ${4 * E}`);
  });
});
