/**
 * One driver-level run with a consumer group (docs/messaging.md, "Work queues"): the run of run-driver-seed.ts (its
 * faults, publishers, membership changes and checks), plus members of one group on the topic `orders` that ack, nak,
 * never settle, leave, vanish and come back, across crashes and failovers. After healing, the run converges only
 * once the group has settled every message too, and then the group checker (group-checker.ts) sees that each was
 * acknowledged once and none lost.
 */
import { fail } from "./broker-checker.ts";
import type { DriverCluster } from "./driver-cluster.ts";
import { GroupChecker } from "./group-checker.ts";
import { DEAD_LETTER_TOPIC, GROUP, GROUP_TOPIC, GroupMember } from "./group-members.ts";
import { type DriverSeedResult, runDriverSeed } from "./run-driver-seed.ts";

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
  violation?: DriverSeedResult["violation"];
}

/** After healing: a message never settled waits out its ack wait (15 ticks) up to MAX_DELIVER times. */
const LIVENESS_BOUND = 400;

export async function runGroupSeed(seed: number): Promise<GroupSeedResult> {
  const checker = new GroupChecker();
  let run: DriverCluster | undefined;
  const r = await runDriverSeed(seed, {
    // ordered links, as production's TCP connections are
    fifoLinks: true,
    livenessBound: LIVENESS_BOUND,
    addOn: (cluster, prng) => {
      run = cluster;
      cluster.checker.copies.add(DEAD_LETTER_TOPIC);
      const members = Array.from(
        { length: prng.int(1, 4) },
        (_, k) => new GroupMember(`m${k + 1}`, cluster, prng.fork(), checker),
      );
      return {
        tick: (safety) => {
          for (const m of members) m.tick(safety);
        },
        settled: () => settled(cluster),
        check: () => check(cluster, checker),
        describe: () => describe(cluster),
      };
    },
  });
  const stats = {
    published: r.stats.published,
    received: checker.received,
    redelivered: checker.redelivered,
    acked: checker.acked.size,
    deadLettered: run?.leader()?.replica?.broker.state.groups.get(GROUP)?.deadLettered ?? 0,
    crashes: r.stats.crashes,
  };
  return r.violation === undefined
    ? { seed, stats, final: r.final }
    : { seed, stats, final: r.final, violation: r.violation };
}

/** The group has nothing left out (nor left to hand out). */
function settled(cluster: DriverCluster): boolean {
  const state = cluster.leader()?.replica?.broker.state;
  const group = state?.groups.get(GROUP);
  if (state === undefined || group === undefined) return true;
  const next = state.topicInfo(GROUP_TOPIC)?.nextOffset ?? 0;
  return group.cursor >= next && group.outstanding.size === 0 && group.pending.size === 0 && group.dead.length === 0;
}

function check(cluster: DriverCluster, checker: GroupChecker): void {
  const state = cluster.leader()?.replica?.broker.state;
  if (state === undefined) return fail("group: none lost", "no leader at the end");
  const group = state.groups.get(GROUP);
  // a group that never formed (no member ever joined) has nothing to check
  if (group === undefined) return;
  const next = state.topicInfo(GROUP_TOPIC)?.nextOffset ?? 0;
  const dlq = state.topicInfo(DEAD_LETTER_TOPIC);
  checker.finished(group, next, cluster.checker.retention ? undefined : (dlq?.nextOffset ?? 0));
}

function describe(cluster: DriverCluster): string {
  const state = cluster.leader()?.replica?.broker.state;
  const g = state?.groups.get(GROUP);
  if (g === undefined) return "no group";
  const members = g.order.map((m) => `${m.id}${m.active ? "" : "(stale)"}:${m.holding}`).join(",");
  return `group next ${g.cursor}/${state?.topicInfo(GROUP_TOPIC)?.nextOffset ?? 0}, acked ${g.acked}, dead ${g.deadLettered}, dropped ${g.dropped}, outstanding ${g.outstanding.size}, waiting ${g.pending.size}, members ${members}`;
}
