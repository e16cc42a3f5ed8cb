/** Totals over many driver-level runs, printed by the runner as the mix of faults and activity per run. */
import type { DriverSeedResult } from "./run-driver-seed.ts";

export class DriverMix {
  private runs = 0;
  private readonly totals = new Map<string, number>();
  private readonly sizes = new Map<number, number>();
  private readonly converge: number[] = [];
  private datagram = 0;
  private retention = 0;
  private withInstalls = 0;
  private withFullDisks = 0;

  add(r: DriverSeedResult): void {
    this.runs++;
    this.sizes.set(r.profile.nodes, (this.sizes.get(r.profile.nodes) ?? 0) + 1);
    for (const [key, value] of Object.entries(r.stats)) {
      if (typeof value === "number" && key !== "convergedAfter")
        this.totals.set(key, (this.totals.get(key) ?? 0) + value);
    }
    if (r.stats.convergedAfter !== undefined) this.converge.push(r.stats.convergedAfter);
    if (r.profile.network.jitter > 0 || r.profile.network.duplicate > 0) this.datagram++;
    if (Object.keys(r.profile.retention).length > 0) this.retention++;
    if (r.stats.installs > 0) this.withInstalls++;
    if (r.stats.diskFulls > 0) this.withFullDisks++;
  }

  lines(): string[] {
    if (this.runs === 0) return [];
    const per = (key: string) => ((this.totals.get(key) ?? 0) / this.runs).toFixed(1);
    const total = (key: string) => this.totals.get(key) ?? 0;
    const share = (n: number) => `${Math.round((100 * n) / this.runs)}%`;
    const sizes = [...this.sizes].sort((a, b) => a[0] - b[0]).map(([n, c]) => `${n} nodes x${c}`);
    const sorted = [...this.converge].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    return [
      `clusters: ${sizes.join(", ")}; ${share(this.datagram)} of runs on a reordering, duplicating network, ${share(this.retention)} with retention`,
      `per run: ${per("crashes")} power losses (${per("unsyncedCrashes")} of a leader with unsynced entries), ${per("pauses")} pauses, ${per("partitions")} partitions, ${per("slowSyncs")} slow fsyncs, ` +
        `${per("sent")} messages sent, ${per("lost")} lost, ${per("duplicated")} duplicated, ${per("cut")} cut by partitions`,
      `per run: ${per("published")} publishes, ${per("attempts")} attempts, ${per("acked")} acknowledged (${per("duplicateAcks")} as duplicates of a stored one), ` +
        `${per("snapshots")} snapshots taken, ${per("installs")} installed from a leader (in ${share(this.withInstalls)} of runs)`,
      `per run: ${per("confChanges")} membership changes, ${per("retired")} brokers removed, ${per("transfers")} leadership transfers, ` +
        `${per("damages")} damaged segments (${per("repairs")} repaired starts)`,
      `disks filled: ${this.totals.get("diskFulls") ?? 0} in ${this.withFullDisks} runs (${share(this.withFullDisks)}), ` +
        `${this.totals.get("diskReopens") ?? 0} stores reopened after ENOSPC, ${this.totals.get("diskStops") ?? 0} brokers stopped on a full disk`,
      `ticks to converge after healing: p50 ${at(0.5)}, p99 ${at(0.99)}, max ${sorted.at(-1) ?? 0}`,
      `process kills (page cache kept): ${total("kills")}, ${total("killPowerLosses")} of them followed by a power loss`,
      `in all: ${total("crashes")} power losses, ${total("partitions")} partitions, ${total("pauses")} pauses, ` +
        `${total("confChanges")} membership changes, ${total("retired")} brokers removed, ${total("transfers")} leadership transfers, ` +
        `${total("damages")} damaged segments, ${total("installs")} snapshot installs`,
    ];
  }
}
