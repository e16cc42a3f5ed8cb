/** Totals over many runs, printed by the runner as the mix of faults and activity per run. */
import type { SeedResult } from "./run-seed.ts";

export class FaultMix {
  private runs = 0;
  private readonly totals = new Map<string, number>();
  private readonly sizes = new Map<number, number>();
  private readonly converge: number[] = [];

  add(r: SeedResult): void {
    this.runs++;
    this.sizes.set(r.profile.nodes, (this.sizes.get(r.profile.nodes) ?? 0) + 1);
    for (const [key, value] of Object.entries(r.stats)) {
      if (typeof value === "number" && key !== "convergedAfter")
        this.totals.set(key, (this.totals.get(key) ?? 0) + value);
    }
    if (r.stats.convergedAfter !== undefined) this.converge.push(r.stats.convergedAfter);
  }

  lines(): string[] {
    if (this.runs === 0) return [];
    const per = (key: string) => ((this.totals.get(key) ?? 0) / this.runs).toFixed(1);
    const total = (key: string) => this.totals.get(key) ?? 0;
    const sizes = [...this.sizes].sort((a, b) => a[0] - b[0]).map(([n, c]) => `${n} nodes x${c}`);
    const sorted = [...this.converge].sort((a, b) => a - b);
    const at = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0;
    return [
      `clusters: ${sizes.join(", ")}`,
      `per run: ${per("crashes")} crashes (${per("unsyncedCrashes")} of a leader with unsynced entries), ${per("pauses")} pauses, ${per("applyStalls")} apply stalls, ${per("partitions")} partitions, ${per("sent")} messages sent, ` +
        `${per("lost")} lost, ${per("duplicated")} duplicated, ${per("cut")} cut by partitions`,
      `per run: ${per("proposals")} proposals (${per("committed")} committed), ${per("confChanges")} membership changes, ` +
        `${per("transfers")} leadership transfers, ${per("snapshotsTaken")} snapshots taken, ${per("snapshotsInstalled")} installed from a leader`,
      `ticks to converge after healing: p50 ${at(0.5)}, p99 ${at(0.99)}, max ${sorted.at(-1) ?? 0}`,
      `in all: ${total("crashes")} crashes, ${total("partitions")} partitions, ${total("pauses")} pauses, ` +
        `${total("confChanges")} membership changes, ${total("retired")} nodes removed, ${total("transfers")} leadership transfers, ` +
        `${total("damages")} damaged logs, ${total("snapshotsInstalled")} snapshot installs`,
    ];
  }
}
