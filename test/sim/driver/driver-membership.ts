/**
 * The operator of a simulated cluster: spare machines join (as learners; production's leader promotes them once
 * caught up, and so may the operator), members leave, leadership moves. Proposed through production's driver on
 * whoever leads, as the membership service does; a removed broker stops for good by itself (membership-duties.ts).
 */
import type { ConfChange } from "../../../src/raft/index.ts";
import { isMqraftError } from "../../../src/util/errors.ts";
import type { Prng } from "../../../src/util/prng.ts";
import type { DriverCluster } from "./driver-cluster.ts";
import type { SimBroker } from "./sim-broker.ts";

/** Spare machines beyond the founders, started when the operator adds them. */
export const SPARES = 2;
const MIN_VOTERS = 3;

export class DriverMembership {
  constructor(
    private readonly cluster: DriverCluster,
    private readonly prng: Prng,
  ) {}

  tick(): void {
    const p = this.cluster.profile;
    if (this.prng.chance(p.membership)) this.step();
    if (this.prng.chance(p.transfer)) this.transfer();
  }

  private step(): void {
    const leader = this.cluster.leader();
    const raft = leader?.replica?.raft;
    if (leader === undefined || raft === undefined) return;
    const m = raft.membership;
    const members = [...m.voters, ...m.learners];
    const spare = [...this.cluster.nodes.values()].find((n) => !n.joined && !n.retired && !members.includes(n.id));
    const status = raft.status();
    const caughtUp = m.learners.find((id) => (status.peers.find((q) => q.id === id)?.match ?? 0) >= raft.commitIndex);
    if (spare !== undefined && this.prng.chance(0.5)) {
      if (this.propose(leader, { op: "addLearner", id: spare.id, address: `sim:${spare.id}` })) {
        spare.joined = true;
        spare.start();
      }
    } else if (caughtUp !== undefined) {
      this.propose(leader, { op: "promote", id: caughtUp });
    } else if (m.voters.length > MIN_VOTERS || m.learners.length > 0) {
      const candidates = m.voters.length > MIN_VOTERS ? members : m.learners;
      this.propose(leader, { op: "remove", id: this.prng.pick(candidates) });
    }
  }

  private transfer(): void {
    const leader = this.cluster.leader();
    const raft = leader?.replica?.raft;
    if (leader === undefined || raft === undefined) return;
    const others = raft.membership.voters.filter((id) => id !== leader.id);
    if (others.length === 0) return;
    const to = this.prng.pick(others);
    if (this.act(leader, () => leader.replica?.driver.withCore((r) => r.transferLeadership(to)))) {
      this.cluster.stats.transfers++;
      this.cluster.trace(leader.id, "transfer", { to });
    }
  }

  private propose(leader: SimBroker, cc: ConfChange): boolean {
    const ok = this.act(leader, () => leader.replica?.driver.withCore((r) => r.proposeConfChange(cc)));
    if (ok) {
      this.cluster.stats.confChanges++;
      this.cluster.trace(leader.id, "conf change", cc);
    }
    return ok;
  }

  /** Runs an operator's call that the core may refuse (not leader, a change pending, a transfer under way). */
  private act(_leader: SimBroker, action: () => unknown): boolean {
    try {
      action();
      return true;
    } catch (e) {
      if (isMqraftError(e, "REFUSED") || isMqraftError(e, "NOT_LEADER") || isMqraftError(e, "UNAVAILABLE"))
        return false;
      throw e;
    }
  }
}
