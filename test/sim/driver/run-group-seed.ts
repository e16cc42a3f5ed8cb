/**
 * One driver-level run with a consumer group (docs/messaging.md, "Work queues"): the faults, publishers and
 * membership changes of run-driver-seed.ts, plus members of one group on the topic `orders` that ack, nak, never
 * settle, leave, vanish and come back, across crashes and failovers. Then faults heal and, within a bound, the group
 * must have settled every message (group-checker.ts), and every broker must hold the same state.
 */
import { describeError } from "../../../src/util/errors.ts";
import { createPrng } from "../../../src/util/prng.ts";
import { FaultInjector } from "../fault-injector.ts";
import { fail } from "./broker-checker.ts";
import { DriverCluster, TICK } from "./driver-cluster.ts";
import { DriverMembership } from "./driver-membership.ts";
import { drawDriverProfile } from "./driver-profile.ts";
import { GroupChecker } from "./group-checker.ts";
import { DEAD_LETTER_TOPIC, GROUP, GROUP_TOPIC, GroupMember } from "./group-members.ts";
import { Publisher } from "./publishers.ts";

export interface GroupSeedResult {
  seed: number;
  stats: {
    published: number;
    received: number;
    redelivered: number;
    acked: number;
    deadLettered: number;
    crashes: number;
  };
  final: string;
  violation?: { invariant: string; message: string; trace: string[] };
}

const SAFETY_TICKS = 150;
/** After healing: a message never settled waits out its ack wait (15 ticks) up to MAX_DELIVER times. */
const LIVENESS_BOUND = 400;

export async function runGroupSeed(seed: number): Promise<GroupSeedResult> {
  const prng = createPrng(seed);
  const drawn = drawDriverProfile(prng.fork(), undefined);
  // ordered links, as production's TCP connections are
  const profile = { ...drawn, network: { ...drawn.network, duplicate: 0, jitter: 0 } };
  const cluster = new DriverCluster(prng.fork(), profile);
  cluster.checker.copies.add(DEAD_LETTER_TOPIC);
  const clientPrng = prng.fork();
  const publishers = Array.from(
    { length: profile.clients },
    (_, k) => new Publisher(`p${k + 1}`, cluster, clientPrng.fork()),
  );
  const checker = new GroupChecker();
  const members = Array.from(
    { length: clientPrng.int(1, 4) },
    (_, k) => new GroupMember(`m${k + 1}`, cluster, clientPrng.fork(), checker),
  );
  const faults = new FaultInjector(cluster, profile, prng.fork());
  cluster.afterEvent = () => faults.afterEvent();
  const membership = new DriverMembership(cluster, prng.fork());
  let tick = 0;
  const runTick = () => cluster.runUntil(++tick * TICK);
  let violation: GroupSeedResult["violation"];
  try {
    for (let t = 0; t < SAFETY_TICKS; t++) {
      faults.tick();
      membership.tick();
      for (const p of publishers) p.tick(true);
      for (const m of members) m.tick(true);
      await runTick();
    }
    faults.healAll();
    let done = false;
    for (let t = 1; t <= LIVENESS_BOUND && !done; t++) {
      for (const p of publishers) p.tick(false);
      for (const m of members) m.tick(false);
      await runTick();
      done = finished(cluster, publishers);
    }
    const leader = cluster.leader()?.replica;
    const group = leader?.broker.state.groups.get(GROUP);
    if (!done || leader === undefined)
      fail("group: none lost", `not finished within ${LIVENESS_BOUND} ticks after healing: ${describe(cluster)}`);
    // a group that never formed (no member ever joined) has nothing to check
    if (group !== undefined) {
      const state = leader.broker.state;
      const next = state.topicInfo(GROUP_TOPIC)?.nextOffset ?? 0;
      const dlq = state.topicInfo(DEAD_LETTER_TOPIC);
      checker.finished(group, next, cluster.checker.retention ? undefined : (dlq?.nextOffset ?? 0));
    }
    for (const node of cluster.nodes.values()) {
      const replica = node.replica;
      const members = leader.raft.membership;
      if (replica === undefined || !(members.voters.includes(node.id) || members.learners.includes(node.id))) continue;
      const applied = replica.raft.appliedIndex;
      cluster.checker.snapshotAt(node.id, applied, replica.raft.termAt(applied) ?? 0, replica.broker.state.snapshot());
    }
  } catch (e) {
    const invariant = typeof e === "object" && e !== null && "invariant" in e ? String(e.invariant) : "exception";
    const message =
      invariant === "exception" ? `${describeError(e)}\n${e instanceof Error ? e.stack : ""}` : describeError(e);
    violation = { invariant, message, trace: cluster.traceLines(120) };
  }
  const group = cluster.leader()?.replica?.broker.state.groups.get(GROUP);
  const stats = {
    published: cluster.stats.published,
    received: checker.received,
    redelivered: checker.redelivered,
    acked: checker.acked.size,
    deadLettered: group?.deadLettered ?? 0,
    crashes: cluster.stats.crashes,
  };
  const final = describe(cluster);
  return violation === undefined ? { seed, stats, final } : { seed, stats, final, violation };
}

/** Every publish acknowledged, every broker applied the leader's whole log, and the group has nothing left out. */
function finished(cluster: DriverCluster, publishers: readonly Publisher[]): boolean {
  if (publishers.some((p) => p.outstanding > 0)) return false;
  const leader = cluster.leader()?.replica;
  if (leader === undefined || leader.raft.commitIndex !== leader.raft.lastIndex()) return false;
  const state = leader.broker.state;
  const group = state.groups.get(GROUP);
  if (group !== undefined) {
    const next = state.topicInfo(GROUP_TOPIC)?.nextOffset ?? 0;
    if (group.cursor < next || group.outstanding.size > 0 || group.pending.size > 0 || group.dead.length > 0)
      return false;
  }
  const { voters, learners } = leader.raft.membership;
  for (const node of cluster.nodes.values()) {
    if (node.retired || !(voters.includes(node.id) || learners.includes(node.id))) continue;
    if (node.replica === undefined || node.replica.raft.appliedIndex !== leader.raft.commitIndex) return false;
  }
  return true;
}

function describe(cluster: DriverCluster): string {
  const state = cluster.leader()?.replica?.broker.state;
  const g = state?.groups.get(GROUP);
  const group =
    g === undefined
      ? "no group"
      : `group next ${g.cursor}/${state?.topicInfo(GROUP_TOPIC)?.nextOffset ?? 0}, acked ${g.acked}, dead ${g.deadLettered}, dropped ${g.dropped}, outstanding ${g.outstanding.size}, waiting ${g.pending.size}, members ${g.order.map((m) => `${m.id}${m.active ? "" : "(stale)"}:${m.held.size}`).join(",")}`;
  const nodes = [...cluster.nodes.values()].map((n) => {
    const r = n.replica?.raft;
    return r === undefined ? `n${n.id}:${n.state}` : `n${n.id}:${r.role} t${r.term} commit=${r.commitIndex}`;
  });
  return `${group}; ${nodes.join("; ")}`;
}
