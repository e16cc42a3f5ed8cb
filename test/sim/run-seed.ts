/**
 * One simulated run: a safety phase with faults and random client and operator activity, then a
 * liveness phase in which faults stop and the cluster must converge within a bound of ticks.
 */
import { describeError } from "../../src/util/errors.ts";
import { createPrng } from "../../src/util/prng.ts";
import { type ClusterStats, ELECTION_TICKS, SimCluster, TICK } from "./cluster.ts";
import { FaultInjector } from "./fault-injector.ts";
import { Violation } from "./invariants.ts";
import type { NetworkStats } from "./network.ts";
import { drawProfile, type Profile } from "./profile.ts";
import { Workload } from "./workload.ts";

export interface SeedOptions {
  /** Cluster size; drawn from the seed (3, 5 or 7) when absent. */
  nodes?: number;
  safetyTicks?: number;
  /** Ticks after healing within which a leader must commit every outstanding proposal on every member. */
  livenessBound?: number;
}

export interface SeedResult {
  seed: number;
  profile: Profile;
  stats: ClusterStats & NetworkStats & { committed: number; convergedAfter: number | undefined };
  /** Every node's role, term and indexes when the run ended: a fingerprint of the whole run. */
  final: string;
  violation?: { invariant: string; message: string; trace: string[] };
}

export const DEFAULT_SAFETY_TICKS = 300;
const APPLY_DRAIN_TICKS = 300;
/**
 * Ticks allowed to converge after healing: six election timeouts with pre-vote (seeds 1-20,000:
 * p99 22, max 49). Without pre-vote, nodes that raised their term while cut off are ignored by
 * followers still inside their check-quorum lease, and split votes follow (p99 50, max 110).
 */
export function livenessBound(preVote: boolean): number {
  return preVote ? 60 : 150;
}

export function runSeed(seed: number, options: SeedOptions = {}): SeedResult {
  const prng = createPrng(seed);
  const profile = drawProfile(prng.fork(), options.nodes);
  const cluster = new SimCluster(prng.fork(), profile);
  const workload = new Workload(cluster, prng.fork());
  const faults = new FaultInjector(cluster, profile, prng.fork());
  const dice = prng.fork();
  let tick = 0;
  const runTick = () => cluster.scheduler.runUntil(++tick * TICK, () => faults.afterEvent());
  let convergedAfter: number | undefined;
  let violation: SeedResult["violation"];
  try {
    for (let t = 0; t < (options.safetyTicks ?? DEFAULT_SAFETY_TICKS); t++) {
      faults.tick();
      if (dice.chance(profile.propose)) workload.proposeNew();
      if (dice.chance(profile.confChange)) workload.changeMembership();
      if (dice.chance(profile.transfer)) workload.transfer();
      if (dice.chance(profile.compact)) workload.compact();
      runTick();
    }
    faults.healAll();
    const bound = options.livenessBound ?? livenessBound(profile.preVote);
    for (let t = 1; t <= bound && convergedAfter === undefined; t++) {
      workload.retry(2 * ELECTION_TICKS * TICK);
      if (dice.chance(profile.compact)) workload.compact();
      runTick();
      if (converged(cluster, workload)) convergedAfter = t;
    }
    if (convergedAfter === undefined) {
      throw new Violation(
        "liveness",
        `no convergence within ${bound} ticks after healing: ${summary(cluster, workload)}`,
      );
    }
    // Applying is the state machine's pace, not Raft's; it only has to finish, with a looser bound.
    for (let t = 1; !converged(cluster, workload, "appliedIndex"); t++) {
      if (t > APPLY_DRAIN_TICKS) {
        throw new Violation(
          "liveness",
          `committed entries not applied within ${APPLY_DRAIN_TICKS} more ticks: ${summary(cluster, workload)}`,
        );
      }
      runTick();
    }
  } catch (e) {
    const invariant = e instanceof Violation ? e.invariant : "exception";
    const message = e instanceof Violation ? e.message : `${describeError(e)}\n${e instanceof Error ? e.stack : ""}`;
    violation = { invariant, message, trace: cluster.traceLines(Number(process.env.SIM_TRACE ?? 80)) };
  }
  const stats = { ...cluster.stats, ...cluster.network.stats, committed: workload.committed, convergedAfter };
  const final = summary(cluster, workload);
  return violation === undefined ? { seed, profile, stats, final } : { seed, profile, stats, final, violation };
}

/**
 * A leader leads, no proposal is outstanding, the leader's whole log is committed, and every live
 * member's `index` (its commit index, or its applied index) has reached it.
 */
function converged(
  cluster: SimCluster,
  workload: Workload,
  index: "commitIndex" | "appliedIndex" = "commitIndex",
): boolean {
  const raft = cluster.leader()?.raft;
  if (raft === undefined || workload.outstanding.size > 0 || raft.commitIndex !== raft.lastIndex()) return false;
  for (const id of [...raft.membership.voters, ...raft.membership.learners]) {
    const node = cluster.nodes.get(id);
    if (node === undefined || node.retired) continue;
    if (node.raft === undefined || node.raft[index] !== raft.commitIndex) return false;
  }
  return true;
}

function summary(cluster: SimCluster, workload: Workload): string {
  const nodes = [...cluster.nodes.values()].map((n) => {
    const r = n.raft;
    if (r === undefined) return `n${n.id}:${n.retired ? "retired" : "down"}`;
    return `n${n.id}:${r.role} t${r.term} last=${r.lastIndex()} commit=${r.commitIndex} applied=${r.appliedIndex} voters=[${r.membership.voters}] learners=[${r.membership.learners}]`;
  });
  return `${workload.outstanding.size} proposals outstanding; ${nodes.join("; ")}`;
}
