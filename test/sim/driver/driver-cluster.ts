/**
 * A simulated cluster of production brokers: machines, the network between them, one clock and the
 * checker, all driven by one seed. Events run one at a time, and the promises each event starts
 * (storage syncs, the driver's Ready loop) settle before the next one runs, as they would before
 * the next turn of a real event loop; so one seed replays the same interleaving every time.
 */
import type { Message } from "../../../src/raft/index.ts";
import type { Prng } from "../../../src/util/prng.ts";
import { checkAcknowledgement } from "../acknowledgements.ts";
import { describeDetail } from "../describe.ts";
import type { FaultTarget } from "../fault-injector.ts";
import { SimNetwork } from "../network.ts";
import { Scheduler } from "../scheduler.ts";
import { Trace } from "../trace.ts";
import { BrokerChecker, fail } from "./broker-checker.ts";
import { SPARES } from "./driver-membership.ts";
import type { DriverProfile } from "./driver-profile.ts";
import { decodePeerMessage, encodePeerMessage } from "./peer-wire.ts";
import { type MachineEnv, SimBroker } from "./sim-broker.ts";

/** Simulated time units (ms) per tick: production's 100 ms heartbeat. */
export const TICK = 100;

export interface DriverStats {
  crashes: number;
  unsyncedCrashes: number;
  confChanges: number;
  transfers: number;
  retired: number;
  damages: number;
  repairs: number;
  /** Disks filled by the fault, stores reopened after ENOSPC, and brokers that could not open theirs on a full disk. */
  diskFulls: number;
  diskReopens: number;
  /** Processes killed with the page cache kept, and power losses that followed (fault-injector.ts). */
  kills: number;
  killPowerLosses: number;
  diskStops: number;
  pauses: number;
  partitions: number;
  slowSyncs: number;
  snapshots: number;
  installs: number;
  published: number;
  attempts: number;
  acked: number;
  duplicateAcks: number;
}

/** A frame on the wire, with the message it was made from (to check that it arrives unchanged). */
interface Packet {
  sent: Message;
  frame: Uint8Array;
}

const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));
/**
 * Far above what a run needs (a few hundred): more means messages breed messages, a storm that
 * would never end on its own, and is reported instead of left to run.
 */
const MAX_IN_FLIGHT = 5000;

export class DriverCluster implements MachineEnv, FaultTarget {
  readonly tickMs = TICK;
  /** Runs after every event (the fault injector's power loss that waits for unsynced entries). */
  afterEvent: () => void = () => {};
  readonly scheduler = new Scheduler();
  readonly checker: BrokerChecker;
  private readonly events = new Trace(600);
  readonly network: SimNetwork<Packet>;
  readonly nodes = new Map<number, SimBroker>();
  readonly peers: number[];
  readonly stats: DriverStats = {
    crashes: 0,
    unsyncedCrashes: 0,
    confChanges: 0,
    transfers: 0,
    retired: 0,
    damages: 0,
    repairs: 0,
    diskFulls: 0,
    kills: 0,
    killPowerLosses: 0,
    diskReopens: 0,
    diskStops: 0,
    pauses: 0,
    partitions: 0,
    slowSyncs: 0,
    snapshots: 0,
    installs: 0,
    published: 0,
    attempts: 0,
    acked: 0,
    duplicateAcks: 0,
  };
  /** Chance that one sync is slow (a fault: the profile's rate until healing, then 0). */
  slowSync: number;
  private failure: unknown;
  private readonly wirePrng: Prng;
  private readonly diskPrng: Prng;

  constructor(
    prng: Prng,
    readonly profile: DriverProfile,
  ) {
    this.checker = new BrokerChecker(Object.keys(profile.retention).length > 0);
    this.slowSync = profile.slowSync;
    this.network = new SimNetwork<Packet>(this.scheduler, prng.fork(), [2, 30], (_from, to, p) => this.deliver(to, p));
    this.wirePrng = prng.fork();
    this.diskPrng = prng.fork();
    this.peers = Array.from({ length: profile.nodes }, (_, i) => i + 1);
    // Founders start at once; the spares wait for the operator to add them (driver-membership.ts).
    for (let id = 1; id <= profile.nodes + SPARES; id++) {
      const node = new SimBroker(id, this, prng.fork(), prng.int(-profile.clockSkew, profile.clockSkew));
      this.nodes.set(id, node);
      if (node.joined) node.start();
      this.scheduler.after(prng.int(0, TICK - 1), () => this.tickLoop(node));
    }
  }

  get now(): number {
    return this.scheduler.now;
  }

  /** Runs every event due by `until`, letting each one's promises settle before the next. */
  async runUntil(until: number): Promise<void> {
    for (;;) {
      await settle();
      if (this.failure !== undefined) throw this.failure;
      for (const node of this.nodes.values()) node.reportDisk();
      for (const node of this.nodes.values()) node.observe();
      this.checkInFlight();
      this.afterEvent();
      if (!this.scheduler.step(until)) break;
    }
    this.scheduler.runUntil(until);
  }

  /** Records the first failure found inside production code (which may catch what the checks throw). */
  fail(error: unknown): void {
    this.failure ??= error;
  }

  after(delay: number, fn: () => void): void {
    this.scheduler.after(delay, fn);
  }

  machines(): SimBroker[] {
    return [...this.nodes.values()];
  }

  leaderId(): number | undefined {
    return this.leader()?.id;
  }

  /** Disks turn fast again. */
  healLevel(): void {
    this.slowSync = 0;
  }

  /** The serving leader of the highest term, if any. */
  leader(): SimBroker | undefined {
    let best: SimBroker | undefined;
    for (const n of this.nodes.values()) {
      const raft = n.replica?.raft;
      if (raft === undefined || raft.role !== "leader") continue;
      if (best === undefined || raft.term > (best.replica?.raft.term ?? 0)) best = n;
    }
    return best;
  }

  send(messages: Message[]): void {
    for (const m of messages) {
      if (m.type === "appendResponse" && !m.reject) this.checkAcknowledgement(m);
      this.network.send(m.from, m.to, { sent: m, frame: encodePeerMessage(m) });
    }
  }

  /** An acknowledgement vouches for the sender's log up to its index: it must match the leader's there. */
  private checkAcknowledgement(m: Message & { type: "appendResponse" }): void {
    const own = checkAcknowledgement(m, this.nodes.get(m.from)?.replica?.raft, this.nodes.get(m.to)?.replica?.raft);
    if (own !== undefined) this.checker.logAcknowledged(m.from, m.index, own);
  }

  syncDelay(): number {
    if (this.slowSync > 0 && this.diskPrng.chance(this.slowSync)) {
      this.stats.slowSyncs++;
      return this.diskPrng.int(TICK, 20 * TICK);
    }
    return this.diskPrng.int(this.profile.syncDelay[0], this.profile.syncDelay[1]);
  }

  trace(node: number, what: string, detail?: unknown): void {
    this.events.add(this.now, node, what, detail);
    if (what === "snapshot") this.stats.snapshots++;
    else if (what === "retired") this.stats.retired++;
    else if (what === "repaired") this.stats.repairs++;
    else if (what === "install snapshot") this.stats.installs++;
    else if (what === "disk reopen") this.stats.diskReopens++;
    else if (what === "stopped on a full disk") this.stats.diskStops++;
  }

  traceLines(count: number): string[] {
    return this.events.lines(count, describeDetail);
  }

  private checkInFlight(): void {
    const n = this.network.stats;
    const inFlight = n.sent + n.duplicated - n.lost - n.cut - n.delivered;
    if (inFlight > MAX_IN_FLIGHT) fail("message storm", `${inFlight} messages in flight`);
  }

  private tickLoop(node: SimBroker): void {
    node.tick();
    this.scheduler.after(TICK, () => this.tickLoop(node));
  }

  private deliver(to: number, packet: Packet): void {
    const node = this.nodes.get(to);
    if (node === undefined || node.state !== "up") return;
    if (this.now < node.pausedUntil) {
      this.scheduler.after(node.pausedUntil - this.now, () => this.deliver(to, packet));
      return;
    }
    const m = decodePeerMessage(packet.sent, packet.frame, this.wirePrng);
    this.events.add(this.now, to, "recv", m);
    node.receive(m);
  }
}
