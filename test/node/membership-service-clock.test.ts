/**
 * The membership service waits (for a transfer, a caught-up peer, the previous change) on the assembly's clock, not
 * the process's: the simulator drives it with simulated time, and a seed replays exactly.
 */
import { expect, test } from "bun:test";
import { MembershipService } from "../../src/node/membership-service.ts";
import { PendingProposals } from "../../src/node/pending-proposals.ts";
import type { RaftDriver } from "../../src/node/raft-driver.ts";
import { manualClock, quietLogger } from "../support/manual-clock.ts";

test("a leadership transfer that never completes times out after two election timeouts of the assembly's clock", async () => {
  const electionMs = 60_000;
  const { clock, advance } = manualClock();
  const raft = { role: "leader", id: 1, leader: 1, transferLeadership() {} };
  const driver = { raft, withCore: (fn: (r: typeof raft) => unknown) => fn(raft) } as unknown as RaftDriver;
  const service = new MembershipService(
    () => driver,
    new PendingProposals(),
    quietLogger,
    electionMs,
    () => true,
    clock,
  );
  let outcome = "pending";
  service.transfer(2).then(
    () => (outcome = "done"),
    (e: Error) => (outcome = e.message),
  );
  await advance(2 * electionMs - 20);
  expect(outcome).toBe("pending");
  await advance(40);
  expect(outcome).toBe(`node 2 did not take over leadership within ${2 * electionMs} ms`);
});
