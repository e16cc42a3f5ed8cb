/**
 * A broker that applied its own removal stops only once no voter asks for its vote: a voter that has not applied the
 * removal still counts it, and with one other voter down (or repaired and withholding its vote) it can win only with
 * the removed broker's vote. Driver-simulation seed 1873 ended that way with no leader for good: the removed broker
 * stopped one election timeout after applying its removal (docs/storage.md, "Leaving").
 *
 * And a broker that `mqraft join` started: a removal replayed from its data folder is not the end while it asks to
 * join again, but one that follows this run's own addition is, however quickly it came.
 */
import { expect, test } from "bun:test";
import { MembershipDuties } from "../../src/node/membership-duties.ts";
import { PendingProposals } from "../../src/node/pending-proposals.ts";
import type { RaftDriver } from "../../src/node/raft-driver.ts";
import { type ConfChange, EntryKind, encodeConfChange } from "../../src/raft/index.ts";
import { E, members, TestNode } from "../raft/harness.ts";
import { manualClock, quietLogger } from "../support/manual-clock.ts";

const TICK_MS = 100;
const ELECTION_MS = E * TICK_MS;

/**
 * Node 5, whose applied configuration holds voters {2,3,4} (it was removed); its clock and core tick together. The
 * folder it started with ended at `historyEnd`.
 */
function removedNode(historyEnd = 0) {
  const node = new TestNode(5, members([2, 3, 4]));
  const time = manualClock();
  let stoppedAt: number | undefined;
  const duties = new MembershipDuties({
    id: 5,
    driver: () => ({ raft: node.raft }) as unknown as RaftDriver,
    pending: new PendingProposals(),
    log: quietLogger,
    clock: time.clock,
    electionMs: ELECTION_MS,
    removed: () => {
      stoppedAt = time.now();
    },
    historyEnd,
  });
  /** This node applies the configuration entry `cc` at `index`. */
  const apply = (index: number, cc: ConfChange) =>
    duties.configApplied({ index, term: 2, kind: EntryKind.Config, data: encodeConfChange(cc) });
  /** One tick of time; node 2 asks for a pre-vote at this tick when `asked`. */
  const tick = (asked = false) => {
    node.raft.tick();
    if (asked) node.raft.step({ type: "preVote", from: 2, to: 5, term: 3, lastIndex: 9, lastTerm: 2, transfer: false });
    time.step(TICK_MS);
  };
  return { duties, apply, tick, stoppedAt: () => stoppedAt };
}

test("a removed broker keeps running while a voter asks for its vote, and stops once none has for a while", () => {
  const n = removedNode();
  n.apply(9, { op: "remove", id: 5 });
  // node 2 has not applied the removal and campaigns once per election timeout, for 20 timeouts
  for (let t = 1; t <= 20 * E; t++) n.tick(t % E === 0);
  expect(n.stoppedAt()).toBeUndefined();
  const lastAsked = 20 * E * TICK_MS;
  for (let t = 0; t < 20 * E && n.stoppedAt() === undefined; t++) n.tick();
  const stopped = n.stoppedAt();
  if (stopped === undefined) throw new Error("the removed broker never stopped after the vote requests ended");
  // it waits out three of the longest election timeouts (2 E ticks) since the last request, then the next check
  expect(stopped).toBeGreaterThanOrEqual(lastAsked + 3 * 2 * ELECTION_MS);
});

test("a removed broker nobody asks for a vote stops one election timeout after applying its removal", () => {
  const n = removedNode();
  n.apply(9, { op: "remove", id: 5 });
  for (let t = 0; t < 3 * E && n.stoppedAt() === undefined; t++) n.tick();
  expect(n.stoppedAt()).toBe(ELECTION_MS);
});

test("a joining broker removed right after the cluster added it stops, though it applied the addition, promotion and removal in one batch", () => {
  // the joiner's empty folder; `mqraft join` still waits to see it a member (it never will) when the three arrive
  const n = removedNode(0);
  n.duties.rejoining = true;
  n.apply(10, { op: "addLearner", id: 5, address: "127.0.0.1:8005" });
  n.apply(11, { op: "promote", id: 5 });
  n.apply(12, { op: "remove", id: 5 });
  for (let t = 0; t < 20 * E && n.stoppedAt() === undefined; t++) n.tick();
  expect(n.stoppedAt()).toBe(ELECTION_MS);
  // and `mqraft join` stops waiting for it to be a member
  expect(n.duties.joinedThisRun).toBe(true);
});

test("a rejoining broker replaying its own old addition and removal from its folder keeps running until the new addition", () => {
  // the folder ends at 12 with the broker's first membership in it; the cluster then removed it while it was away (14)
  const n = removedNode(12);
  n.duties.rejoining = true;
  n.apply(10, { op: "addLearner", id: 5, address: "127.0.0.1:8005" });
  n.apply(11, { op: "promote", id: 5 });
  n.apply(12, { op: "remove", id: 5 });
  n.apply(14, { op: "remove", id: 5 });
  for (let t = 0; t < 20 * E; t++) n.tick();
  expect({ stoppedAt: n.stoppedAt(), joinedThisRun: n.duties.joinedThisRun }).toEqual({
    stoppedAt: undefined,
    joinedThisRun: false,
  });
  // this run's join adds it (20) and an operator removes it again at once (22): that removal is the last word
  n.apply(20, { op: "addLearner", id: 5, address: "127.0.0.1:8005" });
  n.apply(22, { op: "remove", id: 5 });
  const removedAt = 20 * E * TICK_MS;
  for (let t = 0; t < 20 * E && n.stoppedAt() === undefined; t++) n.tick();
  // at the next check of the removals it holds: within an election timeout
  const stopped = n.stoppedAt() ?? Number.NaN;
  expect({ afterRemoval: stopped > removedAt, withinATimeout: stopped <= removedAt + ELECTION_MS }).toEqual({
    afterRemoval: true,
    withinATimeout: true,
  });
});
