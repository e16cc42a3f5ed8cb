/**
 * The leader promotes a learner only once it has answered an append: a learner just added counts as reachable before
 * it has said anything, and on a short log its match of 0 is within PROMOTE_WITHIN of the end. Promoted that way, a
 * joiner that was slow to start (or never came) was a voter holding nothing, and removing it at once left it with no
 * entry to learn its removal from: it kept running for good (test/cluster/membership.test.ts, under load).
 */
import { expect, test } from "bun:test";
import { MembershipService } from "../../src/node/membership-service.ts";
import { PendingProposals } from "../../src/node/pending-proposals.ts";
import type { RaftDriver } from "../../src/node/raft-driver.ts";
import type { ConfChange, PeerStatus } from "../../src/raft/index.ts";
import { manualClock, quietLogger } from "../support/manual-clock.ts";

/** A leader of voters {1,2,3} with learner 4 at `learner`'s progress; the changes it is asked to propose. */
function leaderWithLearner(learner: Pick<PeerStatus, "state" | "match">) {
  const proposed: ConfChange[] = [];
  const raft = {
    role: "leader",
    id: 1,
    confChangePending: false,
    membership: { voters: [1, 2, 3], learners: [4], addresses: { "4": "127.0.0.1:8004" } },
    status: () => ({
      lastIndex: 10,
      membership: { voters: [1, 2, 3], learners: [4], addresses: { "4": "127.0.0.1:8004" } },
      peers: [{ id: 4, learner: true, reachable: true, ...learner }],
    }),
    proposeConfChange: (cc: ConfChange) => {
      proposed.push(cc);
      return { index: 11, term: 2 };
    },
  };
  const driver = { raft, withCore: (fn: (r: typeof raft) => unknown) => fn(raft) } as unknown as RaftDriver;
  const service = new MembershipService(
    () => driver,
    new PendingProposals(),
    quietLogger,
    1000,
    () => true,
    manualClock().clock,
  );
  return { service, proposed };
}

test("a learner that has not answered an append yet is not promoted, however short the log", async () => {
  const l = leaderWithLearner({ state: "probe", match: 0 });
  l.service.promoteCaughtUpLearners();
  await Promise.resolve();
  expect(l.proposed).toEqual([]);
});

test("a learner that answered and holds the log within PROMOTE_WITHIN entries is promoted", async () => {
  const l = leaderWithLearner({ state: "replicate", match: 9 });
  l.service.promoteCaughtUpLearners();
  await Promise.resolve();
  expect(l.proposed).toEqual([{ op: "promote", id: 4 }]);
});
