/** Random crashes, restarts and partitions during the safety phase, at the rates of the seed's profile. */
import type { Prng } from "../../src/util/prng.ts";
import { type SimCluster, TICK } from "./cluster.ts";
import { CALM } from "./network.ts";

export class Faults {
  constructor(
    private readonly cluster: SimCluster,
    private readonly prng: Prng,
  ) {
    cluster.network.faults = { ...cluster.profile.network };
  }

  /** One tick's worth of chances. */
  tick(): void {
    const p = this.cluster.profile;
    if (this.prng.chance(p.crash)) this.crashOne();
    if (this.prng.chance(p.pause)) this.pauseOne();
    if (this.prng.chance(p.partition)) this.partition();
  }

  /** Ends every fault: links heal, the network turns reliable, state machines stop stalling, crashed nodes restart. */
  healAll(): void {
    this.cluster.applyStall = 0;
    this.cluster.network.heal();
    this.cluster.network.faults = { ...CALM };
    for (const node of this.cluster.nodes.values()) {
      node.pausedUntil = 0;
      if (!node.up && !node.retired) node.start();
    }
    this.cluster.traceEvent(0, "heal all");
  }

  private crashOne(): void {
    const live = this.cluster.liveNodes();
    if (live.length === 0) return;
    const node = this.prng.pick(live);
    node.crash();
    this.cluster.stats.crashes++;
    this.cluster.after(this.prng.int(1, 40) * TICK, () => {
      if (!node.up && !node.retired) node.start();
    });
  }

  private pauseOne(): void {
    const live = this.cluster.liveNodes();
    if (live.length === 0) return;
    this.cluster.pause(this.prng.pick(live), this.cluster.now + this.prng.int(1, 30) * TICK);
    this.cluster.stats.pauses++;
  }

  private partition(): void {
    const c = this.cluster;
    const ids = [...c.nodes.values()].filter((n) => !n.retired).map((n) => n.id);
    const kind = this.prng.pick(["split", "oneWay", "isolateLeader"] as const);
    switch (kind) {
      case "split": {
        const side = ids.filter(() => this.prng.chance(0.5));
        c.network.partition([side, ids.filter((id) => !side.includes(id))]);
        c.traceEvent(0, "partition", { side });
        break;
      }
      case "oneWay": {
        const from = this.prng.pick(ids);
        const to = this.prng.pick(ids.filter((id) => id !== from));
        c.network.cut(from, to);
        c.traceEvent(0, "cut", { from, to });
        break;
      }
      case "isolateLeader": {
        const leader = c.leader();
        if (leader === undefined) return;
        c.network.isolate(leader.id, ids);
        c.traceEvent(0, "isolate", { node: leader.id });
        break;
      }
    }
    c.stats.partitions++;
    c.after(this.prng.int(5, 50) * TICK, () => {
      c.network.heal();
      c.traceEvent(0, "heal links");
    });
  }
}
