/**
 * A broker that applied its own removal stops only once no voter asks for its vote: a voter that has not applied the
 * removal still counts it, and with one other voter down (or repaired and withholding its vote) it can win only with
 * the removed broker's vote. Driver-simulation seed 1873 ended that way with no leader for good: the removed broker
 * stopped one election timeout after applying its removal (docs/storage.md, "Leaving").
 */
import { expect, test } from "bun:test";
import type { Clock } from "../../src/node/clock.ts";
import { MembershipDuties } from "../../src/node/membership-duties.ts";
import { PendingProposals } from "../../src/node/pending-proposals.ts";
import type { RaftDriver } from "../../src/node/raft-driver.ts";
import { EntryKind, encodeConfChange } from "../../src/raft/index.ts";
import type { Logger } from "../../src/util/log.ts";
import { E, members, TestNode } from "../raft/harness.ts";

const quiet: Logger = { error() {}, warn() {}, info() {}, debug() {}, trace() {}, enabled: () => false };
const TICK_MS = 100;
const ELECTION_MS = E * TICK_MS;

/** Node 5, removed: the configuration it applied holds voters {2,3,4}; its clock and core tick together. */
function removedNode() {
  const node = new TestNode(5, members([2, 3, 4]));
  let now = 0;
  const timers: { at: number; fn: () => void }[] = [];
  const clock: Clock = {
    now: () => now,
    after: (ms, fn) => {
      timers.push({ at: now + ms, fn });
      return () => {};
    },
    every: () => () => {},
  };
  let stoppedAt: number | undefined;
  const duties = new MembershipDuties({
    id: 5,
    driver: () => ({ raft: node.raft }) as unknown as RaftDriver,
    pending: new PendingProposals(),
    log: quiet,
    clock,
    electionMs: ELECTION_MS,
    removed: () => {
      stoppedAt = now;
    },
  });
  duties.configApplied({ index: 9, term: 2, kind: EntryKind.Config, data: encodeConfChange({ op: "remove", id: 5 }) });
  /** One tick of time; node 2 asks for a pre-vote at this tick when `asked`. */
  const tick = (asked: boolean) => {
    now += TICK_MS;
    node.raft.tick();
    if (asked) node.raft.step({ type: "preVote", from: 2, to: 5, term: 3, lastIndex: 9, lastTerm: 2, transfer: false });
    for (const t of timers.splice(0).sort((a, b) => a.at - b.at)) {
      if (t.at <= now) t.fn();
      else timers.push(t);
    }
  };
  return { tick, stoppedAt: () => stoppedAt };
}

test("a removed broker keeps running while a voter asks for its vote, and stops once none has for a while", () => {
  const n = removedNode();
  // node 2 has not applied the removal and campaigns once per election timeout, for 20 timeouts
  for (let t = 1; t <= 20 * E; t++) n.tick(t % E === 0);
  expect(n.stoppedAt()).toBeUndefined();
  const lastAsked = 20 * E * TICK_MS;
  for (let t = 0; t < 20 * E && n.stoppedAt() === undefined; t++) n.tick(false);
  const stopped = n.stoppedAt();
  if (stopped === undefined) throw new Error("the removed broker never stopped after the vote requests ended");
  // it waits out three of the longest election timeouts (2 E ticks) since the last request, then the next check
  expect(stopped).toBeGreaterThanOrEqual(lastAsked + 3 * 2 * ELECTION_MS);
});

test("a removed broker nobody asks for a vote stops one election timeout after applying its removal", () => {
  const n = removedNode();
  for (let t = 0; t < 3 * E && n.stoppedAt() === undefined; t++) n.tick(false);
  expect(n.stoppedAt()).toBe(ELECTION_MS);
});
