/**
 * One simulated broker: a RaftNode, its disk (log, hard state and a durable state machine) and
 * the driver loop: take a Ready, write it after a disk delay, send, apply (after an apply
 * delay), advance. A crash
 * loses the Ready being written and everything in memory; the disk survives.
 */
import {
  type Bootstrap,
  type Entry,
  type HardState,
  isMember,
  MemoryLog,
  type Message,
  RaftNode,
  type RaftOptions,
  type Ready,
  type Role,
  type Snapshot,
} from "../../src/raft/index.ts";
import type { Prng } from "../../src/util/prng.ts";
import type { FaultMachine } from "./fault-injector.ts";
import { hashEntry, Violation } from "./invariants.ts";
import type { RaftChecker } from "./raft-checker.ts";

export interface NodeEnv {
  checker: RaftChecker;
  /** Options for a new RaftNode incarnation (a fresh PRNG each time). */
  raftOptions(id: number, applied: number): RaftOptions;
  after(delay: number, run: () => void): void;
  diskDelay(): number;
  /** How long the state machine takes to apply a batch of committed entries. */
  applyDelay(): number;
  send(m: Message): void;
  applied(node: number, e: Entry): void;
  snapshotInstalled(node: number): void;
  traceEvent(node: number, what: string, detail?: unknown): void;
}

/** What the simulated state machine keeps on disk: how far it applied and a digest of its state. */
interface AppState {
  applied: number;
  hash: number;
}

export class SimNode implements FaultMachine {
  raft: RaftNode | undefined;
  readonly log = new MemoryLog();
  hardState: HardState = { term: 0, vote: 0, commit: 0 };
  private app: AppState = { applied: 0, hash: 0 };
  private incarnation = 0;
  private writing = false;
  /** The Ready being written carries entries (a crash before it completes loses them). */
  private writingEntries = false;
  /**
   * Left by a repair of a damaged log, as production's store leaves its damage marker (docs/storage.md): the log may
   * have lost entries up to `untilIndex` that this node acknowledged, in terms up to `aboveTerm`. Until it holds
   * `untilIndex` again, or an entry of a later term, it neither votes nor campaigns.
   */
  private damaged: { untilIndex: number; aboveTerm: number } | undefined;
  /** Taken out of the cluster for good (removed from the membership). */
  retired = false;
  /** Its own configuration counted it as a member at some point (a spare that never joined has not). */
  wasMember = false;
  /** Simulated time until which the process is frozen. */
  pausedUntil = 0;
  /** An addLearner for this node was committed: it is no longer a spare waiting to join. */
  joined = false;
  private seenRole: Role | "" = "";
  private seenTerm = -1;

  constructor(
    readonly id: number,
    private readonly env: NodeEnv,
    boot?: Bootstrap,
  ) {
    if (boot !== undefined) {
      this.log.append(boot.entries);
      this.hardState = boot.hardState;
    }
  }

  get up(): boolean {
    return this.raft !== undefined;
  }

  get running(): boolean {
    return this.up && !this.retired;
  }

  get restartable(): boolean {
    return !this.up && !this.retired;
  }

  get unsynced(): boolean {
    return this.writingEntries;
  }

  get diskDamaged(): boolean {
    return this.damaged !== undefined;
  }

  /**
   * Bit rot on this node's log while it is down, found and repaired at its next start: the log is cut at a damaged
   * entry past what the state machine applied (this level's state machine keeps its applied index on disk), and
   * everything after it is gone, acknowledged or not.
   */
  damage(prng: Prng): unknown {
    const from = Math.max(this.app.applied, this.snapshotIndex()) + 1;
    const last = this.log.lastIndex();
    if (this.up || from > last) return undefined;
    const cut = prng.int(from, last);
    this.damaged = {
      untilIndex: Math.max(last, this.hardState.commit, this.damaged?.untilIndex ?? 0),
      // The lost log's last entry, as production's repair reads it from the sound records after the damage
      // (src/storage/log-recovery.ts): the hard-state term may be far above every entry held, and a floor at it would
      // refuse the candidates that do hold the lost log (seed 11839: no leader for good).
      aboveTerm: Math.max(this.log.term(last) ?? 0, this.damaged?.aboveTerm ?? 0),
    };
    this.log.truncate(cut);
    return { cut, ...this.damaged };
  }

  start(): void {
    // A commit index beyond a repaired log is not fatal: commit is volatile, and the leader tells it again (as the
    // broker assembly boots).
    const bootState = { ...this.hardState, commit: Math.min(this.hardState.commit, this.log.lastIndex()) };
    const raft = new RaftNode(this.env.raftOptions(this.id, this.app.applied), this.log, bootState);
    raft.withholdVotes = this.damaged !== undefined;
    raft.voteFloor = this.damaged && { term: this.damaged.aboveTerm, index: this.damaged.untilIndex };
    this.raft = raft;
    this.seenRole = "";
    this.env.traceEvent(this.id, "start", {
      term: this.hardState.term,
      commit: this.hardState.commit,
      applied: this.app.applied,
    });
    const { checker } = this.env;
    checker.recovered(this.id, this.hardState);
    checker.booted(this.id, {
      term: (i) => this.log.term(i),
      snapshotIndex: this.snapshotIndex(),
      damagedUntil: this.damaged?.untilIndex ?? 0,
      bootCommit: bootState.commit,
    });
    this.reportDisk();
    checker.observe(this.id, this.incarnation, raft);
    this.pump();
  }

  crash(): void {
    if (this.raft === undefined) return;
    this.env.checker.crashed(this.id, this.raft);
    this.raft = undefined;
    this.incarnation++;
    this.writing = false;
    this.writingEntries = false;
    this.env.traceEvent(this.id, "crash");
  }

  tick(): void {
    if (this.raft === undefined) return;
    this.raft.tick();
    this.settle(this.raft);
  }

  receive(m: Message): void {
    if (this.raft === undefined) return;
    this.raft.step(m);
    this.settle(this.raft);
  }

  /** Runs `action` on the live node (a proposal, a transfer...) and checks the result. */
  act<T>(action: (raft: RaftNode) => T): T | undefined {
    if (this.raft === undefined) return undefined;
    const out = action(this.raft);
    this.settle(this.raft);
    return out;
  }

  /** Takes a snapshot at the applied index, saves it, and drops log entries up to `keepFrom` - 1 at most. */
  compact(keepFrom: (first: number, snapIndex: number) => number, padding: number): Snapshot | undefined {
    const raft = this.raft;
    if (raft === undefined || this.app.applied <= (this.log.snapshot()?.meta.index ?? 0)) return undefined;
    const snap = { meta: raft.compact(this.app.applied), data: encodeAppState(this.app, padding) };
    this.log.saveSnapshot(snap);
    this.log.compact(keepFrom(this.log.firstIndex(), snap.meta.index) - 1);
    this.env.traceEvent(this.id, "compact", { snapshot: snap.meta.index, first: this.log.firstIndex() });
    return snap;
  }

  /** The log is this node's disk: everything in it survives a crash (a live view, so compaction shows at once). */
  private reportDisk(): void {
    const log = this.log;
    const node = this;
    this.env.checker.durable(this.id, {
      get lastIndex() {
        return log.lastIndex();
      },
      term: (i) => log.term(i),
      get snapshotIndex() {
        return log.snapshot()?.meta.index ?? 0;
      },
      // damaged while the node is down: what it held counts as held from then on (test/sim/raft-checker.ts)
      get damagedUntil() {
        return node.damaged?.untilIndex ?? 0;
      },
    });
  }

  /** As the store drops its damage marker: the log is durable past what it may have lost, or holds a later term. */
  private clearDamageIfCaughtUp(raft: RaftNode): void {
    const d = this.damaged;
    if (d === undefined) return;
    const last = this.log.lastIndex();
    if (last < d.untilIndex && (this.log.term(last) ?? 0) <= d.aboveTerm) return;
    this.damaged = undefined;
    raft.withholdVotes = false;
    this.env.traceEvent(this.id, "caught up after repair", { last });
  }

  private snapshotIndex(): number {
    return this.log.snapshot()?.meta.index ?? 0;
  }

  /**
   * Removed, as production's broker decides it (src/node/membership-duties.ts): it applied a configuration without
   * itself and everything it knows committed, and no voter asked for its vote lately (one that still counts it may
   * need that vote to elect anyone).
   */
  get leaving(): boolean {
    const raft = this.raft;
    if (raft === undefined || !this.wasMember || isMember(raft.membership, this.id)) return false;
    return raft.appliedIndex >= raft.commitIndex && !raft.askedToVoteRecently;
  }

  private settle(raft: RaftNode): void {
    this.env.checker.observe(this.id, this.incarnation, raft);
    if (isMember(raft.membership, this.id)) this.wasMember = true;
    if (raft.role !== this.seenRole || raft.term !== this.seenTerm) {
      this.seenRole = raft.role;
      this.seenTerm = raft.term;
      this.env.traceEvent(this.id, `becomes ${raft.role}`, {
        term: raft.term,
        last: raft.lastIndex(),
        commit: raft.commitIndex,
      });
    }
    this.pump();
  }

  private pump(): void {
    const raft = this.raft;
    if (raft === undefined || this.writing || !raft.hasReady()) return;
    const rd = raft.ready();
    this.writing = true;
    this.writingEntries = rd.entries.length > 0;
    const incarnation = this.incarnation;
    this.env.after(this.env.diskDelay(), () => {
      if (incarnation === this.incarnation) this.complete(raft, rd);
    });
  }

  /** The Ready is on disk: send its messages, then apply its committed entries (which may take a while). */
  private complete(raft: RaftNode, rd: Ready): void {
    if (rd.snapshot !== undefined) this.installSnapshot(rd.snapshot);
    this.log.append(rd.entries);
    this.writingEntries = false;
    if (rd.hardState !== undefined) this.hardState = rd.hardState;
    this.env.checker.persisted(this.id, rd.hardState, rd.entries, (i) => this.log.term(i));
    this.clearDamageIfCaughtUp(raft);
    this.reportDisk();
    for (const m of rd.messages) {
      if (m.type === "voteResponse" && !m.reject) this.env.checker.voted(this.id, m.term, m.to);
      this.env.send(m);
    }
    const incarnation = this.incarnation;
    const finish = () => {
      if (incarnation !== this.incarnation) return;
      for (const e of rd.committed) this.apply(e);
      this.writing = false;
      raft.advance(rd);
      this.settle(raft);
    };
    const delay = rd.committed.length > 0 ? this.env.applyDelay() : 0;
    if (delay === 0) finish();
    else this.env.after(delay, finish);
  }

  private installSnapshot(snap: Snapshot): void {
    this.log.applySnapshot(snap);
    const state = decodeAppState(snap.data);
    if (state.applied !== snap.meta.index) {
      throw new Violation(
        "snapshot",
        `node ${this.id} got a snapshot of state ${state.applied} labelled ${snap.meta.index}`,
      );
    }
    if (state.applied <= this.app.applied) {
      throw new Violation(
        "applied monotonic",
        `node ${this.id} installs snapshot ${state.applied} over applied ${this.app.applied}`,
      );
    }
    this.app = state;
    this.env.checker.stateAt(this.id, state.applied, snap.meta.term, state.hash);
    this.env.snapshotInstalled(this.id);
    this.env.traceEvent(this.id, "install snapshot", { index: snap.meta.index, term: snap.meta.term });
  }

  private apply(e: Entry): void {
    if (e.index !== this.app.applied + 1) {
      throw new Violation("apply order", `node ${this.id} asked to apply ${e.index} after ${this.app.applied}`);
    }
    this.env.checker.applying(this.id, this.app.applied, [e]);
    this.app = { applied: e.index, hash: hashEntry(this.app.hash, e) };
    this.env.checker.stateAt(this.id, e.index, e.term, this.app.hash);
    this.env.applied(this.id, e);
  }
}

function encodeAppState(s: AppState, padding: number): Uint8Array {
  const out = new Uint8Array(8 + padding);
  const view = new DataView(out.buffer);
  view.setUint32(0, s.applied);
  view.setUint32(4, s.hash);
  return out;
}

function decodeAppState(data: Uint8Array): AppState {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  return { applied: view.getUint32(0), hash: view.getUint32(4) };
}
