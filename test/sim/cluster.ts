/** A simulated Raft cluster: nodes, network, clock and the invariant checker, all driven by one seed. */
import { bootstrap, type Entry, type Membership, type Message, type RaftOptions } from "../../src/raft/index.ts";
import type { Prng } from "../../src/util/prng.ts";
import { checkAcknowledgement } from "./acknowledgements.ts";
import { describeDetail } from "./describe.ts";
import type { FaultTarget } from "./fault-injector.ts";
import { SimNetwork } from "./network.ts";
import type { Profile } from "./profile.ts";
import { RaftChecker } from "./raft-checker.ts";
import { Scheduler } from "./scheduler.ts";
import { type NodeEnv, SimNode } from "./sim-node.ts";
import { Trace } from "./trace.ts";

/** Simulated time units per Raft tick. Network delays are a fraction of a tick, jitter up to a few. */
export const TICK = 100;
export const ELECTION_TICKS = 10;

export interface ClusterStats {
  crashes: number;
  unsyncedCrashes: number;
  damages: number;
  /** Removed nodes that stopped for good. */
  retired: number;
  pauses: number;
  applyStalls: number;
  partitions: number;
  proposals: number;
  confChanges: number;
  transfers: number;
  snapshotsTaken: number;
  snapshotsInstalled: number;
}

export class SimCluster implements NodeEnv, FaultTarget {
  readonly tickMs = TICK;
  readonly scheduler = new Scheduler();
  /** The same checker as the broker level's Raft checks; this level's state machine keeps its applied index on disk. */
  readonly checker = new RaftChecker({ appliedSurvivesRestart: true });
  private readonly events = new Trace(Number(process.env.SIM_TRACE ?? 400));
  readonly network: SimNetwork<Message>;
  readonly nodes = new Map<number, SimNode>();
  readonly stats: ClusterStats = {
    crashes: 0,
    unsyncedCrashes: 0,
    damages: 0,
    retired: 0,
    pauses: 0,
    applyStalls: 0,
    partitions: 0,
    proposals: 0,
    confChanges: 0,
    transfers: 0,
    snapshotsTaken: 0,
    snapshotsInstalled: 0,
  };
  /** Probability that applying a batch stalls (a fault: the profile's rate until healing, then 0). */
  applyStall: number;
  /** Called for every entry any node applies (the workload learns what committed). */
  onApply: (node: number, e: Entry) => void = () => {};
  private nextId: number;

  constructor(
    private readonly prng: Prng,
    readonly profile: Profile,
  ) {
    this.applyStall = profile.applyStall;
    this.network = new SimNetwork<Message>(this.scheduler, prng.fork(), [2, 30], (_from, to, m) => this.deliver(to, m));
    const ids = Array.from({ length: profile.nodes }, (_, i) => i + 1);
    const addresses: Membership["addresses"] = {};
    for (const id of ids) addresses[id] = `sim:${id}`;
    const boot = bootstrap({ voters: ids, learners: [], addresses });
    for (const id of ids) this.launch(new SimNode(id, this, boot));
    this.nextId = profile.nodes + 1;
  }

  get now(): number {
    return this.scheduler.now;
  }

  /** A new, empty node that is not yet a member (it joins once a leader adds it). */
  spawn(): SimNode {
    const node = new SimNode(this.nextId++, this);
    this.launch(node);
    return node;
  }

  /** The live leader of the highest term, if any. */
  leader(): SimNode | undefined {
    let best: SimNode | undefined;
    for (const n of this.nodes.values()) {
      const raft = n.raft;
      if (raft === undefined || raft.role !== "leader") continue;
      if (best === undefined || raft.term > (best.raft?.term ?? 0)) best = n;
    }
    return best;
  }

  /** Any live node that believes it leads, stale ones included (clients do not know better). */
  anyLeader(prng: Prng): SimNode | undefined {
    const leaders = this.liveNodes().filter((n) => n.raft?.role === "leader");
    return leaders.length === 0 ? undefined : prng.pick(leaders);
  }

  machines(): SimNode[] {
    return [...this.nodes.values()];
  }

  leaderId(): number | undefined {
    return this.leader()?.id;
  }

  trace(node: number, what: string, detail?: unknown): void {
    this.events.add(this.now, node, what, detail);
  }

  /** State machines stop stalling. */
  healLevel(): void {
    this.applyStall = 0;
  }

  liveNodes(): SimNode[] {
    return [...this.nodes.values()].filter((n) => n.up);
  }

  /** Stops a node for good (it was removed from the cluster). */
  retire(node: SimNode): void {
    node.crash();
    node.retired = true;
    this.stats.retired++;
    this.events.add(this.now, node.id, "retired");
  }

  traceLines(count: number): string[] {
    return this.events.lines(count, describeDetail);
  }

  raftOptions(id: number, applied: number): RaftOptions {
    return {
      id,
      prng: this.prng.fork(),
      electionTicks: ELECTION_TICKS,
      heartbeatTicks: 1,
      maxInflight: 4,
      maxMsgBytes: 256,
      maxSnapshotChunk: 64,
      preVote: this.profile.preVote,
      checkQuorum: this.profile.checkQuorum,
      applied,
    };
  }

  after(delay: number, run: () => void): void {
    this.scheduler.after(delay, run);
  }

  diskDelay(): number {
    return this.prng.int(0, 20);
  }

  applyDelay(): number {
    if (!this.prng.chance(this.applyStall)) return this.prng.int(0, 20);
    this.stats.applyStalls++;
    return this.prng.int(TICK, 10 * TICK);
  }

  send(m: Message): void {
    const own = checkAcknowledgement(m, this.nodes.get(m.from)?.raft, this.nodes.get(m.to)?.raft);
    if (m.type === "appendResponse" && own !== undefined) this.checker.logAcknowledged(m.from, m.index, own);
    this.network.send(m.from, m.to, m);
  }

  applied(node: number, e: Entry): void {
    this.onApply(node, e);
  }

  snapshotInstalled(): void {
    this.stats.snapshotsInstalled++;
  }

  traceEvent(node: number, what: string, detail?: unknown): void {
    this.events.add(this.now, node, what, detail);
  }

  private launch(node: SimNode): void {
    this.nodes.set(node.id, node);
    node.start();
    this.scheduler.after(this.prng.int(0, TICK - 1), () => this.tickLoop(node));
  }

  /** Freezes a node's process (a long GC or a stopped VM): no ticks, no messages handled, until `until`. */
  pause(node: SimNode, until: number): void {
    node.pausedUntil = until;
    this.events.add(this.now, node.id, "pause", { until });
  }

  private tickLoop(node: SimNode): void {
    if (node.retired) return;
    if (node.leaving) {
      this.retire(node);
      return;
    }
    if (this.now >= node.pausedUntil) node.tick();
    this.scheduler.after(TICK, () => this.tickLoop(node));
  }

  private deliver(to: number, m: Message): void {
    const node = this.nodes.get(to);
    if (node === undefined || !node.up) return;
    if (this.now < node.pausedUntil) {
      this.scheduler.after(node.pausedUntil - this.now, () => this.deliver(to, m));
      return;
    }
    this.events.add(this.now, to, "recv", m);
    node.receive(m);
  }
}
