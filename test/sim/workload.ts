/**
 * The simulated clients and operator: proposals to whoever leads, membership changes (add a
 * learner, promote it, remove a member), leadership transfers and snapshots. Tracks which
 * proposals are outstanding (accepted by a leader, not yet seen applied).
 */
import { type ConfChange, decodeConfChange, type Entry, EntryKind } from "../../src/raft/index.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import type { Prng } from "../../src/util/prng.ts";
import type { SimCluster } from "./cluster.ts";
import type { SimNode } from "./sim-node.ts";

const MAX_EXTRA_NODES = 2;

export class Workload {
  /** Proposal id -> tick it was last proposed, for those not yet applied anywhere. */
  readonly outstanding = new Map<number, number>();
  private nextProposal = 1;
  committed = 0;

  constructor(
    private readonly cluster: SimCluster,
    private readonly prng: Prng,
  ) {
    cluster.onApply = (_node, e) => this.applied(e);
  }

  propose(leader: SimNode, id: number): boolean {
    const data = new Uint8Array(4 + this.prng.int(0, 60));
    new DataView(data.buffer).setUint32(0, id);
    const ok = tryAct(leader, (raft) => raft.propose(data)) !== undefined;
    if (ok) {
      this.outstanding.set(id, this.cluster.now);
      this.cluster.stats.proposals++;
      this.cluster.traceEvent(leader.id, "propose", { id });
    }
    return ok;
  }

  proposeNew(): void {
    const leader = this.cluster.anyLeader(this.prng);
    if (leader === undefined) return;
    const count = this.prng.int(1, 3);
    for (let i = 0; i < count; i++) this.propose(leader, this.nextProposal++);
  }

  /** Re-proposes outstanding proposals last proposed at least `age` time units ago (a client retry). */
  retry(age: number): void {
    const leader = this.cluster.leader();
    if (leader === undefined) return;
    for (const [id, at] of this.outstanding) {
      if (this.cluster.now - at >= age) this.propose(leader, id);
    }
  }

  /** One step of the operator's membership plan, driven by the leader's configuration. */
  changeMembership(): void {
    const leader = this.cluster.leader();
    const raft = leader?.raft;
    if (leader === undefined || raft === undefined) return;
    const m = raft.membership;
    const members = [...m.voters, ...m.learners];
    const spare = [...this.cluster.nodes.values()].find((n) => !n.joined && !n.retired && !members.includes(n.id));
    const status = raft.status();
    const caughtUp = m.learners.find((id) => (status.peers.find((p) => p.id === id)?.match ?? 0) >= raft.commitIndex);
    if (spare !== undefined) {
      this.confChange(leader, { op: "addLearner", id: spare.id, address: `sim:${spare.id}` });
    } else if (caughtUp !== undefined) {
      this.confChange(leader, { op: "promote", id: caughtUp });
    } else if (members.length < this.cluster.profile.nodes + MAX_EXTRA_NODES && this.prng.chance(0.5)) {
      this.cluster.spawn();
    } else if (m.voters.length > 3 || m.learners.length > 0) {
      const candidates = m.voters.length > 3 ? members : m.learners;
      this.confChange(leader, { op: "remove", id: this.prng.pick(candidates) });
    }
  }

  transfer(): void {
    const leader = this.cluster.leader();
    const raft = leader?.raft;
    if (leader === undefined || raft === undefined) return;
    const others = raft.membership.voters.filter((id) => id !== leader.id);
    if (others.length === 0) return;
    const to = this.prng.pick(others);
    if (tryAct(leader, (r) => r.transferLeadership(to)) !== undefined) {
      this.cluster.stats.transfers++;
      this.cluster.traceEvent(leader.id, "transfer", { to });
    }
  }

  compact(): void {
    const live = this.cluster.liveNodes();
    if (live.length === 0) return;
    const node = this.prng.pick(live);
    const keepAll = this.prng.chance(0.5);
    const snap = node.compact(
      (first, snapIndex) => (keepAll ? snapIndex + 1 : this.prng.int(first, snapIndex + 1)),
      this.prng.int(0, 200),
    );
    if (snap !== undefined) this.cluster.stats.snapshotsTaken++;
  }

  private confChange(leader: SimNode, cc: ConfChange): void {
    if (tryAct(leader, (raft) => raft.proposeConfChange(cc)) !== undefined) {
      this.cluster.stats.confChanges++;
      this.cluster.traceEvent(leader.id, "conf change", cc);
    }
  }

  private applied(e: Entry): void {
    if (e.kind === EntryKind.Config) {
      this.configApplied(decodeConfChange(e.data));
      return;
    }
    if (e.data.length < 4) return;
    const id = new DataView(e.data.buffer, e.data.byteOffset, e.data.byteLength).getUint32(0);
    if (this.outstanding.delete(id)) this.committed++;
  }

  /**
   * A committed addLearner makes a node a member (ids are never reused). A removed node stops by itself, as a broker
   * does, once it applied its removal and no voter still asks for its vote (SimNode.leaving).
   */
  private configApplied(cc: ConfChange): void {
    const node = this.cluster.nodes.get(cc.id);
    if (node !== undefined && cc.op === "addLearner") node.joined = true;
  }
}

/** Runs a client call that the core may refuse (not leader, change pending, transfer under way...); undefined when refused. */
function tryAct<T>(node: SimNode, action: (raft: NonNullable<SimNode["raft"]>) => T): { value: T } | undefined {
  try {
    return node.act((raft) => ({ value: action(raft) }));
  } catch (e) {
    if (isMqraftError(e, "REFUSED") || isMqraftError(e, "NOT_LEADER") || isMqraftError(e, "UNAVAILABLE"))
      return undefined;
    throw e;
  }
}
