/** Power losses with restarts, process pauses and partitions during the safety phase, at the seed's rates. */
import type { Prng } from "../../../src/util/prng.ts";
import { CALM } from "../network.ts";
import { damageSegment } from "./disk-damage.ts";
import { type DriverCluster, TICK } from "./driver-cluster.ts";

export class DriverFaults {
  private readonly outageAt: number;
  private ticks = 0;
  private healed = false;

  constructor(
    private readonly cluster: DriverCluster,
    private readonly prng: Prng,
  ) {
    cluster.network.faults = { ...cluster.profile.network };
    this.outageAt = cluster.profile.outage ? prng.int(5, 40) : -1;
  }

  /** One tick's worth of chances. */
  tick(): void {
    const p = this.cluster.profile;
    if (this.ticks++ === this.outageAt) this.crashOne(this.prng.int(60, 150));
    if (this.prng.chance(p.crash)) this.crashOne(this.prng.chance(0.5) ? this.prng.int(1, 10) : this.prng.int(20, 100));
    if (this.prng.chance(p.pause)) this.pauseOne();
    if (this.prng.chance(p.partition)) this.partition();
    if (this.prng.chance(p.damage)) this.damageOne();
  }

  /** Ends every fault: links heal, the network and the disks turn reliable, every machine runs. */
  healAll(): void {
    this.healed = true;
    const c = this.cluster;
    c.network.heal();
    c.network.faults = { ...CALM };
    c.slowSync = 0;
    for (const node of c.nodes.values()) {
      node.pausedUntil = 0;
      if (node.state === "down" && node.joined) node.start();
    }
    c.trace(0, "heal all");
  }

  /**
   * A machine loses power (possibly while it boots) at some moment within the coming tick, so
   * between any write and its sync, and comes back `down` ticks later.
   */
  private crashOne(down: number): void {
    const { scheduler } = this.cluster;
    scheduler.after(this.prng.int(0, TICK - 1), () => {
      if (this.healed) return;
      const running = [...this.cluster.nodes.values()].filter((n) => n.state !== "down" && !n.retired);
      if (running.length === 0) return;
      const node = this.prng.pick(running);
      node.crash();
      this.cluster.stats.crashes++;
      scheduler.after(down * TICK, () => {
        if (node.state === "down") node.start();
      });
    });
  }

  /**
   * Bit rot on a machine that is down: one byte of a log segment it fsynced is damaged (a header, a length field, a
   * record's contents), so its next start must refuse, and its repair must keep it from voting until it holds again
   * everything it held. At most one machine at a time, so a majority always holds every acknowledged entry. The last
   * record of the newest segment is spared: damage there cannot be told from a torn write (docs/storage.md).
   */
  private damageOne(): void {
    const nodes = [...this.cluster.nodes.values()];
    if (nodes.some((n) => n.damaged || n.repairing)) return;
    const down = nodes.filter((n) => n.state === "down" && n.joined && !n.retired);
    if (down.length === 0) return;
    const node = this.prng.pick(down);
    const hit = damageSegment(node.fs, this.prng);
    if (hit === undefined) return;
    node.damaged = true;
    this.cluster.stats.damages++;
    this.cluster.trace(node.id, "damage", hit);
  }

  private pauseOne(): void {
    const running = [...this.cluster.nodes.values()].filter((n) => n.state === "up");
    if (running.length === 0) return;
    const node = this.prng.pick(running);
    node.pausedUntil = this.cluster.now + this.prng.int(1, 30) * TICK;
    this.cluster.stats.pauses++;
    this.cluster.trace(node.id, "pause", { until: node.pausedUntil });
  }

  private partition(): void {
    const c = this.cluster;
    const ids = [...c.nodes.keys()];
    switch (this.prng.pick(["split", "oneWay", "isolateLeader"] as const)) {
      case "split": {
        const side = ids.filter(() => this.prng.chance(0.5));
        c.network.partition([side, ids.filter((id) => !side.includes(id))]);
        c.trace(0, "partition", { side });
        break;
      }
      case "oneWay": {
        const from = this.prng.pick(ids);
        const to = this.prng.pick(ids.filter((id) => id !== from));
        c.network.cut(from, to);
        c.trace(0, "cut", { from, to });
        break;
      }
      case "isolateLeader": {
        const leader = c.leader();
        if (leader === undefined) return;
        c.network.isolate(leader.id, ids);
        c.trace(0, "isolate", { node: leader.id });
        break;
      }
    }
    c.stats.partitions++;
    c.scheduler.after(this.prng.int(5, 50) * TICK, () => {
      c.network.heal();
      c.trace(0, "heal links");
    });
  }
}
