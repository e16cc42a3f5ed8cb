/**
 * One driver-level run: a safety phase with faults and publishing clients, then a liveness phase in
 * which faults stop and, within a bound, every publish must be acknowledged and every broker must
 * have applied the leader's whole log and hold the same state and every acknowledged message.
 */
import { describeError } from "../../../src/util/errors.ts";
import { createPrng, type Prng } from "../../../src/util/prng.ts";
import { FaultInjector } from "../fault-injector.ts";
import type { NetworkStats } from "../network.ts";
import { fail } from "./broker-checker.ts";
import { DriverCluster, type DriverStats, TICK } from "./driver-cluster.ts";
import { DriverMembership } from "./driver-membership.ts";
import { type DriverProfile, drawDriverProfile } from "./driver-profile.ts";
import { OrderedPublisher } from "./ordered-publisher.ts";
import { Publisher } from "./publishers.ts";

/**
 * What a run adds to the driver run's clients and checks (run-group-seed.ts adds a consumer group's members): ticked
 * with the publishers, it must have settled too before the run counts as converged, and checks its own end state.
 */
export interface SeedAddOn {
  tick(safety: boolean): void;
  settled(): boolean;
  /** After convergence and the driver run's own final checks. */
  check(): void;
  describe(): string;
}

export interface DriverSeedOptions {
  /** Cluster size; drawn from the seed when absent. */
  nodes?: number;
  /** Links that keep order and never duplicate, as production's TCP connections do (loss stays as drawn). */
  fifoLinks?: boolean;
  safetyTicks?: number;
  livenessBound?: number;
  /** Made once the cluster and the publishers are, with a PRNG of the clients' own. */
  addOn?: (cluster: DriverCluster, prng: Prng) => SeedAddOn;
  /**
   * Process kills that keep the page cache (fault-injector.ts), as drawn (`bun run sim --level broker --kills`). Off by
   * default, so that the seeds `make test`, `make sim` and `make mutants` run (and the seeds kept there) run as they
   * did before kills existed, in the time they took, until runs with kills have been as clean as the others.
   */
  kills?: boolean;
}

export interface DriverSeedResult {
  seed: number;
  profile: DriverProfile;
  stats: DriverStats & NetworkStats & { convergedAfter: number | undefined };
  /** Every node's state when the run ended: a fingerprint of the whole run. */
  final: string;
  violation?: { invariant: string; message: string; trace: string[] };
}

export const DEFAULT_SAFETY_TICKS = 150;
/**
 * Ticks after healing within which every publish is acknowledged and every broker caught up. Seeds
 * 1-6,000 took p99 53, max 98: more than the raft-level 60, since clients wait out a 2 s request
 * timeout and a broker back from a long outage may need a snapshot carrying every retained message.
 */
export const LIVENESS_BOUND = 200;

export async function runDriverSeed(seed: number, options: DriverSeedOptions = {}): Promise<DriverSeedResult> {
  const prng = createPrng(seed);
  const drawn = drawDriverProfile(prng.fork(), options.nodes);
  const linked = options.fifoLinks ? { ...drawn, network: { ...drawn.network, duplicate: 0, jitter: 0 } } : drawn;
  const profile = options.kills === true ? linked : { ...linked, kill: 0 };
  const cluster = new DriverCluster(prng.fork(), profile);
  const clientPrng = prng.fork();
  // clients as the library publishes (registered, in order, restarting); with 3 or more, the last one as an older
  // client that sends no epoch (deduplicated only)
  const publishers = Array.from({ length: profile.clients }, (_, k) =>
    k >= 2 && k === profile.clients - 1
      ? new Publisher(`p${k + 1}`, cluster, clientPrng.fork())
      : new OrderedPublisher(`p${k + 1}`, cluster, clientPrng.fork()),
  );
  const addOn = options.addOn?.(cluster, clientPrng.fork());
  const faults = new FaultInjector(cluster, profile, prng.fork());
  cluster.afterEvent = () => faults.afterEvent();
  const membership = new DriverMembership(cluster, prng.fork());
  let tick = 0;
  const runTick = () => cluster.runUntil(++tick * TICK);
  let convergedAfter: number | undefined;
  let violation: DriverSeedResult["violation"];
  try {
    for (let t = 0; t < (options.safetyTicks ?? DEFAULT_SAFETY_TICKS); t++) {
      faults.tick();
      membership.tick();
      for (const p of publishers) p.tick(true);
      addOn?.tick(true);
      await runTick();
    }
    faults.healAll();
    const bound = options.livenessBound ?? LIVENESS_BOUND;
    for (let t = 1; t <= bound && convergedAfter === undefined; t++) {
      for (const p of publishers) p.tick(false);
      addOn?.tick(false);
      await runTick();
      if (converged(cluster, publishers) && (addOn?.settled() ?? true)) convergedAfter = t;
    }
    if (convergedAfter === undefined)
      fail("liveness", `no convergence within ${bound} ticks after healing: ${summary(cluster, publishers, addOn)}`);
    checkFinal(cluster);
    addOn?.check();
  } catch (e) {
    const invariant = typeof e === "object" && e !== null && "invariant" in e ? String(e.invariant) : "exception";
    const message =
      invariant === "exception" ? `${describeError(e)}\n${e instanceof Error ? e.stack : ""}` : describeError(e);
    violation = { invariant, message, trace: cluster.traceLines(120) };
  }
  const stats = { ...cluster.stats, ...cluster.network.stats, convergedAfter };
  const final = summary(cluster, publishers, addOn);
  return violation === undefined ? { seed, profile, stats, final } : { seed, profile, stats, final, violation };
}

/**
 * Every publish acknowledged; a leader whose whole log is committed, with the wanted retention in
 * force; every broker serving and applied up to the leader's commit index.
 */
function converged(cluster: DriverCluster, publishers: readonly (Publisher | OrderedPublisher)[]): boolean {
  if (publishers.some((p) => p.outstanding > 0)) return false;
  const leader = cluster.leader()?.replica;
  if (leader === undefined || leader.raft.commitIndex !== leader.raft.lastIndex()) return false;
  const retention = leader.broker.state.retention();
  const wanted = cluster.profile.retention;
  if (
    retention.maxMessages !== wanted.maxMessages ||
    retention.maxBytes !== wanted.maxBytes ||
    retention.maxAgeMs !== wanted.maxAgeMs
  )
    return false;
  const { voters, learners } = leader.raft.membership;
  for (const node of cluster.nodes.values()) {
    // A spare whose addition never committed, or a member removed, is no part of the cluster.
    if (node.retired || !(voters.includes(node.id) || learners.includes(node.id))) continue;
    if (node.replica === undefined || node.replica.raft.appliedIndex !== leader.raft.commitIndex) return false;
  }
  return true;
}

/** Every broker holds the same state, and every acknowledged message at its offset unless retention dropped it. */
function checkFinal(cluster: DriverCluster): void {
  const members = cluster.leader()?.replica?.raft.membership;
  for (const node of cluster.nodes.values()) {
    const replica = node.replica;
    if (replica === undefined) continue;
    // A spare whose addition never committed holds nothing and serves nothing.
    if (members !== undefined && !members.voters.includes(node.id) && !members.learners.includes(node.id)) continue;
    const applied = replica.raft.appliedIndex;
    const term = replica.raft.termAt(applied);
    if (term === undefined)
      fail("final state", `node ${node.id} does not know the term of its applied index ${applied}`);
    cluster.checker.snapshotAt(node.id, applied, term, replica.broker.state.snapshot());
    for (const [identity, ack] of cluster.checker.acked) {
      const found = replica.messageAt(ack.topic, ack.offset);
      if (found === "future")
        fail("acknowledged publish", `node ${node.id} lacks ${identity}, acknowledged at ${ack.topic}/${ack.offset}`);
      if (found === "dropped") {
        if (!cluster.checker.retention)
          fail("acknowledged publish", `node ${node.id} dropped ${identity} without retention`);
      } else if (found.text !== ack.text) {
        fail(
          "acknowledged publish",
          `node ${node.id} holds another message at ${ack.topic}/${ack.offset}, where ${identity} was acknowledged`,
        );
      }
    }
  }
}

function summary(
  cluster: DriverCluster,
  publishers: readonly (Publisher | OrderedPublisher)[],
  addOn: SeedAddOn | undefined,
): string {
  const nodes = [...cluster.nodes.values()].map((n) => {
    const r = n.replica?.raft;
    if (r === undefined) return `n${n.id}:${n.state}`;
    return `n${n.id}:${r.role} t${r.term} last=${r.lastIndex()} commit=${r.commitIndex} applied=${r.appliedIndex}`;
  });
  const outstanding = publishers.reduce((n, p) => n + p.outstanding, 0);
  const added = addOn === undefined ? "" : `${addOn.describe()}; `;
  return `${added}${outstanding} publishes outstanding, ${cluster.stats.acked} acknowledged; ${nodes.join("; ")}`;
}
