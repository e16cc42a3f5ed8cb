/**
 * The faults of the simulation, one injector for both levels (the core with its own Ready loop, and production's
 * broker assembly): power losses at any moment, among them a leader's loss between writing entries and syncing
 * them; one long outage; process pauses; partitions (a split, a one-way cut, an isolated leader); bit rot on a disk
 * that is down, full disks and process kills that keep the page cache (maybe followed by a power loss), where the
 * level has real disks. Each level adapts its machines to FaultMachine.
 */
import type { Prng } from "../../src/util/prng.ts";
import { CALM, type NetworkFaults, type SimNetwork } from "./network.ts";

/** Per-tick chances of each fault, drawn by the level's profile. */
export interface FaultRates {
  network: NetworkFaults;
  crash: number;
  /** A power loss of the leader at its next moment with entries written and not yet synced. */
  unsyncedCrash: number;
  /** One machine down for a long stretch, so the others compact past it and it must install a snapshot. */
  outage: boolean;
  pause: number;
  partition: number;
  /** A byte of a log a down machine synced is damaged (at most one machine at a time); 0 without real disks. */
  damage: number;
  /** Another process fills a running machine's disk, and frees it later; undefined or 0 without real disks. */
  diskFull?: number;
  /**
   * A machine's process is killed (the page cache survives), restarted, and in half the cases the machine loses power
   * a little later, before or after the restart; undefined or 0 without real disks.
   */
  kill?: number;
}

export interface FaultStats {
  crashes: number;
  unsyncedCrashes: number;
  pauses: number;
  partitions: number;
  damages: number;
  /** Disks filled (where the level has them). */
  diskFulls?: number;
  /** Processes killed, and power losses that followed a kill (also counted in crashes). */
  kills?: number;
  killPowerLosses?: number;
}

export const noFaults = (): FaultStats => ({ crashes: 0, unsyncedCrashes: 0, pauses: 0, partitions: 0, damages: 0 });

/** One simulated machine as the injector sees it. */
export interface FaultMachine {
  readonly id: number;
  /** Its process runs (or boots): it can lose power or freeze. */
  readonly running: boolean;
  /** It is down and comes back when restarted (not removed from the cluster). */
  readonly restartable: boolean;
  /** Entries are written and not yet synced: a power loss now loses them. */
  readonly unsynced: boolean;
  /** Its disk is damaged, or it runs on a repaired log that has not caught up yet. */
  readonly diskDamaged: boolean;
  pausedUntil: number;
  crash(): void;
  start(): void;
  /** Damages a byte of what this machine synced (it is down); what was hit, or undefined if nothing could be. */
  damage?(prng: Prng): unknown;
  /** Another process filled its disk (fillDisk) and has not freed it yet. */
  readonly diskFull?: boolean;
  /** Fills its disk but for a little room; what was left. */
  fillDisk?(prng: Prng): unknown;
  freeDisk?(): void;
  /** Its process is killed: the machine and its page cache stay up. */
  kill?(): void;
  /** The machine loses power while its process is down: the disk keeps what was synced. */
  powerLossWhileDown?(): void;
}

export interface FaultTarget {
  readonly now: number;
  readonly tickMs: number;
  after(delay: number, fn: () => void): void;
  readonly network: Pick<SimNetwork<unknown>, "faults" | "partition" | "cut" | "isolate" | "heal">;
  machines(): readonly FaultMachine[];
  leaderId(): number | undefined;
  trace(node: number, what: string, detail?: unknown): void;
  readonly stats: FaultStats;
  /** Ends the faults only this level has (stalled applies, slow disks). */
  healLevel(): void;
}

export class FaultInjector {
  private readonly outageAt: number;
  private ticks = 0;
  private healed = false;
  /** Armed: the leader loses power at the next event that finds its entries written and not yet synced. */
  private unsyncedArmed = false;

  constructor(
    private readonly target: FaultTarget,
    private readonly rates: FaultRates,
    private readonly prng: Prng,
  ) {
    target.network.faults = { ...rates.network };
    this.outageAt = rates.outage ? prng.int(5, 40) : -1;
  }

  /** One tick's worth of chances. */
  tick(): void {
    const r = this.rates;
    if (this.ticks++ === this.outageAt) this.crashOne(this.prng.int(60, 150));
    if (this.prng.chance(r.crash)) this.crashOne(this.prng.chance(0.5) ? this.prng.int(1, 10) : this.prng.int(20, 100));
    if (this.prng.chance(r.unsyncedCrash)) this.unsyncedArmed = true;
    if (this.prng.chance(r.pause)) this.pauseOne();
    if (this.prng.chance(r.partition)) this.partition();
    if (this.prng.chance(r.damage)) this.damageOne();
    // drawn only where the level fills disks, so that the draws of every other level and profile stay as they were
    if (r.diskFull !== undefined && r.diskFull > 0 && this.prng.chance(r.diskFull)) this.fillOne();
    if (r.kill !== undefined && r.kill > 0 && this.prng.chance(r.kill)) this.killOne();
  }

  /** After every event of the run: an armed power loss strikes the leader caught with unsynced entries. */
  afterEvent(): void {
    if (!this.unsyncedArmed || this.healed) return;
    const leader = this.target.leaderId();
    const node = this.target.machines().find((m) => m.id === leader);
    if (node === undefined || !node.running || !node.unsynced) return;
    this.unsyncedArmed = false;
    node.crash();
    this.target.stats.crashes++;
    this.target.stats.unsyncedCrashes++;
    this.target.trace(node.id, "power loss with unsynced entries");
    this.restartLater(node, this.prng.int(1, 10));
  }

  /** Ends every fault: links heal, the network turns reliable, every machine runs. */
  healAll(): void {
    this.healed = true;
    this.unsyncedArmed = false;
    const t = this.target;
    t.network.heal();
    t.network.faults = { ...CALM };
    t.healLevel();
    for (const node of t.machines()) {
      node.pausedUntil = 0;
      if (node.diskFull) node.freeDisk?.();
      if (node.restartable) node.start();
    }
    t.trace(0, "heal all");
  }

  /** A machine loses power at some moment within the coming tick (so between any write and its sync). */
  private crashOne(down: number): void {
    const t = this.target;
    t.after(this.prng.int(0, t.tickMs - 1), () => {
      if (this.healed) return;
      const running = t.machines().filter((m) => m.running);
      if (running.length === 0) return;
      const node = this.prng.pick(running);
      node.crash();
      t.stats.crashes++;
      this.restartLater(node, down);
    });
  }

  /**
   * A process is killed at some moment within the coming tick and restarted a little later. Its unsynced writes and
   * renames stay in the page cache and the restart sees them; in half the cases the machine then loses power, while
   * down or after the restart, so whatever the restart took for durable without syncing it is put to the test.
   */
  private killOne(): void {
    const t = this.target;
    t.after(this.prng.int(0, t.tickMs - 1), () => {
      if (this.healed) return;
      const running = t.machines().filter((m) => m.running && m.kill !== undefined);
      if (running.length === 0) return;
      const node = this.prng.pick(running);
      node.kill?.();
      t.stats.kills = (t.stats.kills ?? 0) + 1;
      t.trace(node.id, "kill");
      const down = this.prng.int(1, 10);
      this.restartLater(node, down);
      if (this.prng.chance(0.5)) t.after(this.prng.int(0, down + 10) * t.tickMs, () => this.powerLossAfterKill(node));
    });
  }

  private powerLossAfterKill(node: FaultMachine): void {
    if (this.healed) return;
    const t = this.target;
    if (node.running) {
      node.crash();
      this.restartLater(node, this.prng.int(1, 10));
    } else if (node.restartable) {
      node.powerLossWhileDown?.();
    } else return;
    t.stats.crashes++;
    t.stats.killPowerLosses = (t.stats.killPowerLosses ?? 0) + 1;
    t.trace(node.id, "power loss after a kill");
  }

  private restartLater(node: FaultMachine, down: number): void {
    this.target.after(down * this.target.tickMs, () => {
      if (node.restartable) node.start();
    });
  }

  /**
   * Bit rot on a machine that is down: one byte of a log segment it synced is damaged, so its next start must
   * refuse, and its repair must keep it from voting until it holds again everything it held. At most one machine at a
   * time, so a majority always holds every acknowledged entry.
   */
  private damageOne(): void {
    const machines = this.target.machines();
    if (machines.some((m) => m.diskDamaged)) return;
    const down = machines.filter((m) => m.restartable && m.damage !== undefined);
    if (down.length === 0) return;
    const node = this.prng.pick(down);
    const hit = node.damage?.(this.prng);
    if (hit === undefined) return;
    this.target.stats.damages++;
    this.target.trace(node.id, "damage", hit);
  }

  /**
   * Another process fills a running machine's disk, leaving a little room: its alarm may rise and its writes fail with
   * ENOSPC (so it reopens its store, and takes no entries until space returns). The space is freed later.
   */
  private fillOne(): void {
    const t = this.target;
    const running = t.machines().filter((m) => m.running && m.fillDisk !== undefined && !m.diskFull);
    if (running.length === 0) return;
    const node = this.prng.pick(running);
    const left = node.fillDisk?.(this.prng);
    t.stats.diskFulls = (t.stats.diskFulls ?? 0) + 1;
    t.trace(node.id, "disk full", left);
    t.after(this.prng.int(5, 60) * t.tickMs, () => {
      if (!node.diskFull) return;
      node.freeDisk?.();
      t.trace(node.id, "disk freed");
    });
  }

  private pauseOne(): void {
    const t = this.target;
    const running = t.machines().filter((m) => m.running);
    if (running.length === 0) return;
    const node = this.prng.pick(running);
    node.pausedUntil = t.now + this.prng.int(1, 30) * t.tickMs;
    t.stats.pauses++;
    t.trace(node.id, "pause", { until: node.pausedUntil });
  }

  private partition(): void {
    const t = this.target;
    const ids = t.machines().map((m) => m.id);
    switch (this.prng.pick(["split", "oneWay", "isolateLeader"] as const)) {
      case "split": {
        const side = ids.filter(() => this.prng.chance(0.5));
        t.network.partition([side, ids.filter((id) => !side.includes(id))]);
        t.trace(0, "partition", { side });
        break;
      }
      case "oneWay": {
        const from = this.prng.pick(ids);
        const to = this.prng.pick(ids.filter((id) => id !== from));
        t.network.cut(from, to);
        t.trace(0, "cut", { from, to });
        break;
      }
      case "isolateLeader": {
        const leader = t.leaderId();
        if (leader === undefined) return;
        t.network.isolate(leader, ids);
        t.trace(0, "isolate", { node: leader });
        break;
      }
    }
    t.stats.partitions++;
    t.after(this.prng.int(5, 50) * t.tickMs, () => {
      t.network.heal();
      t.trace(0, "heal links");
    });
  }
}
