import { expect, test } from "bun:test";
import { DiskHandoff } from "../../src/node/disk-handoff.ts";
import type { PeerStatus, RaftStatus } from "../../src/raft/index.ts";
import { recordingLog } from "../support/recording-log.ts";

const ELECTION_TICKS = 4;

function peer(id: number, match: number, extra: Partial<PeerStatus> = {}): PeerStatus {
  return { id, learner: false, match, next: match + 1, state: "replicate", reachable: true, ...extra };
}

function leaderStatus(peers: PeerStatus[], leadTransferee = 0, voters = [1, 2, 3, 4]): RaftStatus {
  return {
    id: 1,
    role: "leader",
    term: 2,
    vote: 1,
    leader: 1,
    commit: 10,
    applied: 10,
    firstIndex: 1,
    lastIndex: 10,
    membership: { voters, learners: [5], addresses: {} },
    cluster: undefined,
    peers,
    leadTransferee,
  } as RaftStatus;
}

test("under the alarm a leader asks the most caught-up reachable voter first, the next once a transfer failed, and after all declined pauses before it asks again; a cleared alarm starts over", () => {
  const lines: string[] = [];
  const handoff = new DiskHandoff(ELECTION_TICKS, recordingLog(lines), (id) => `127.0.0.1:800${id}`);
  const peers = [peer(2, 8), peer(3, 10), peer(4, 10, { reachable: false }), peer(5, 10, { learner: true })];
  const status = leaderStatus(peers);
  expect(handoff.next(false, () => status)).toBeUndefined();
  expect(handoff.next(true, () => status)).toBe(3);
  // a transfer underway is left alone
  expect(handoff.next(true, () => leaderStatus(peers, 3))).toBeUndefined();
  // it failed (the core cleared leadTransferee after an election timeout): the next voter
  expect(handoff.next(true, () => status)).toBe(2);
  // nobody left: a pause of 30 election timeouts, then a new round
  expect(handoff.next(true, () => status)).toBeUndefined();
  const paused = Array.from({ length: 30 * ELECTION_TICKS }, () => handoff.next(true, () => status));
  expect(paused.every((to) => to === undefined)).toBe(true);
  expect(handoff.next(true, () => status)).toBe(3);
  expect(lines).toEqual([
    "info Disk alarm: handing leadership to broker 3 (127.0.0.1:8003), which may have room for publishes",
    "info Disk alarm: handing leadership to broker 2 (127.0.0.1:8002), which may have room for publishes",
    "warn Disk alarm: no other voter took over leadership (their disks may be full too); this broker keeps leading and refusing publishes, and asks again in 30 election timeouts",
    "debug Disk alarm: handing leadership to broker 3 (127.0.0.1:8003), which may have room for publishes",
  ]);

  // the alarm cleared (or this node no longer leads): the next alarm starts a fresh round at once
  expect(handoff.next(false, () => status)).toBeUndefined();
  expect(handoff.next(true, () => status)).toBe(3);
  expect(handoff.next(true, () => ({ ...status, role: "follower" }))).toBeUndefined();
  expect(handoff.next(true, () => status)).toBe(3);
});
