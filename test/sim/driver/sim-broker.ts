/**
 * One simulated broker machine across its lifetime: a disk that outlives crashes, and the current
 * process (a SimReplica, production's BrokerAssembly) that boots from it, runs, and may crash, pause, or restart.
 */
import type { Clock } from "../../../src/node/clock.ts";
import { persistenceFailure } from "../../../src/node/disk-guard.ts";
import type { Message, Role } from "../../../src/raft/index.ts";
import { isMqraftError } from "../../../src/util/errors.ts";
import type { Prng } from "../../../src/util/prng.ts";
import type { FaultMachine } from "../fault-injector.ts";
import type { Scheduler } from "../scheduler.ts";
import type { BrokerChecker } from "./broker-checker.ts";
import { damageSegment } from "./disk-damage.ts";
import type { DriverProfile } from "./driver-profile.ts";
import { type ReplicaEnv, SimReplica } from "./sim-replica.ts";
import { TimedSimFs } from "./timed-sim-fs.ts";

/** What a machine needs from the cluster around it. */
export interface MachineEnv {
  readonly scheduler: Scheduler;
  readonly checker: BrokerChecker;
  readonly profile: DriverProfile;
  readonly peers: readonly number[];
  send(messages: Message[]): void;
  fail(error: unknown): void;
  trace(node: number, what: string, detail?: unknown): void;
  syncDelay(): number;
}

/** Milliseconds since the epoch at simulated time 0: commands carry realistic times. */
const EPOCH = 1_700_000_000_000;

export class SimBroker implements FaultMachine {
  readonly fs: TimedSimFs;
  replica: SimReplica | undefined;
  state: "down" | "booting" | "up" = "down";
  /** A member (founders are; a spare once the operator adds it), and one removed for good. */
  joined: boolean;
  retired = false;
  /** A byte of its log was damaged while it was down: it must refuse to start, and be repaired. */
  damaged = false;
  /** Started with a repaired log that has not caught up yet (it holds a damage marker, on disk while down). */
  repairing = false;
  /** Its process stopped because its data folder could not be opened again on a full disk (an operator restarts it). */
  private stoppedOnFullDisk = false;
  /** Simulated time until which the process is frozen. */
  pausedUntil = 0;
  private incarnation = 0;
  private seenRole: Role | "" = "";
  private seenTerm = -1;

  constructor(
    readonly id: number,
    private readonly env: MachineEnv,
    private readonly prng: Prng,
    /** This machine's clock offset in ms. */
    private readonly skew: number,
  ) {
    this.fs = new TimedSimFs({ delay: () => env.syncDelay(), after: (delay, fn) => this.after(delay, fn) });
    this.joined = env.peers.includes(id);
  }

  get generation(): number {
    return this.incarnation;
  }

  get running(): boolean {
    return this.state !== "down" && !this.retired;
  }

  get restartable(): boolean {
    return this.state === "down" && this.joined && !this.retired;
  }

  get unsynced(): boolean {
    const store = this.replica?.store;
    return store !== undefined && store.lastIndex() > store.durableIndex;
  }

  get diskDamaged(): boolean {
    return this.damaged || this.repairing;
  }

  /** Bit rot while the machine is down (a header, a length field, a record's contents of a segment it synced). */
  damage(prng: Prng): unknown {
    const hit = damageSegment(this.fs, prng);
    if (hit !== undefined) this.damaged = true;
    return hit;
  }

  /** Runs `fn` on the current process after `delay`: never if it crashes first, and not while it is paused. */
  after(delay: number, fn: () => void): void {
    const incarnation = this.incarnation;
    const run = (): void => {
      if (incarnation !== this.incarnation) return;
      const wait = this.pausedUntil - this.env.scheduler.now;
      if (wait > 0) this.env.scheduler.after(wait, run);
      else fn();
    };
    this.env.scheduler.after(delay, run);
  }

  /**
   * Starts a process on this machine's disk; it serves once its store is open. A start refused because the log is
   * corrupt is retried with repair, as an operator would.
   */
  start(repair = false): void {
    if (this.retired) return;
    const incarnation = ++this.incarnation;
    this.state = "booting";
    this.seenRole = "";
    this.stoppedOnFullDisk = false;
    const { env } = this;
    env.trace(this.id, "start");
    SimReplica.boot(this.replicaEnv(repair)).then(
      (replica) => {
        if (incarnation !== this.incarnation) return;
        this.replica = replica;
        this.state = "up";
        if (repair) env.trace(this.id, "repaired", replica.store.damage);
        this.damaged = false;
        this.repairing = replica.store.damage !== undefined;
      },
      (e: unknown) => {
        if (incarnation !== this.incarnation) return;
        // production's broker exits on a full disk it cannot open (found) its data folder on; an operator starts it
        // again once there is room (freeDisk)
        if (isMqraftError(e, "DISK_FULL")) {
          this.state = "down";
          this.stoppedOnFullDisk = true;
          env.trace(this.id, "stopped on a full disk");
          return;
        }
        if (!isMqraftError(e, "CORRUPT") || repair || !this.damaged) {
          env.fail(e);
          return;
        }
        this.state = "down";
        env.trace(this.id, "refused to start", e.message);
        env.scheduler.after(100, () => {
          if (this.state === "down" && incarnation === this.incarnation) this.start(true);
        });
      },
    );
  }

  /** What the process now running on this machine (its incarnation) is given. */
  private replicaEnv(repair: boolean): ReplicaEnv {
    const incarnation = this.incarnation;
    const { env } = this;
    return {
      id: this.id,
      fs: this.fs,
      peers: this.env.peers.includes(this.id) ? env.peers : [],
      repair,
      profile: env.profile,
      prng: this.prng.fork(),
      checker: env.checker,
      clock: this.clock(),
      send: (messages) => env.send(messages),
      fatal: (e) => {
        if (incarnation === this.incarnation) env.fail(e);
      },
      diskFull: () => {
        if (incarnation === this.incarnation) this.reopen();
      },
      trace: (what, detail) => env.trace(this.id, what, detail),
      // production's broker stops for good once its removal is the last word (membership-duties.ts)
      removed: () => this.retire(),
    };
  }

  /**
   * A write failed with ENOSPC: production's reopen (disk-full-reopen.ts) in the same process, which the checker sees
   * as a restart without a power loss. Production's broker stops if its data folder cannot be opened again; so does
   * this one, and it starts again once its disk is freed.
   */
  private reopen(): void {
    const failed = this.replica;
    if (failed === undefined || this.state !== "up") return;
    const incarnation = this.incarnation;
    const next = incarnation + 1;
    this.state = "booting";
    this.env.trace(this.id, "disk reopen");
    SimReplica.reopen(failed, () => {
      if (this.incarnation !== incarnation) throw new Error("superseded: the machine lost power meanwhile");
      this.env.checker.crashed(this.id, failed.raft);
      this.incarnation = next;
      this.fs.carryOverSyncs();
      this.replica = undefined;
      this.seenRole = "";
      return this.replicaEnv(false);
    }).then(
      (replica) => {
        if (this.incarnation !== next) return;
        this.replica = replica;
        this.state = "up";
      },
      (e: unknown) => {
        if (this.incarnation !== incarnation && this.incarnation !== next) return;
        if (persistenceFailure(e, "/data").code !== "DISK_FULL") return this.env.fail(e);
        if (this.incarnation === incarnation) this.env.checker.crashed(this.id, failed.raft);
        this.incarnation = next + 1;
        this.replica = undefined;
        this.state = "down";
        this.stoppedOnFullDisk = true;
        this.env.trace(this.id, "stopped on a full disk");
      },
    );
  }

  /** Whether another process has filled this machine's disk (the disk-full fault). */
  get diskFull(): boolean {
    return this.fs.capacityBytes !== undefined;
  }

  /** Another process fills the disk, leaving a little room; what was left. */
  fillDisk(prng: Prng): unknown {
    const room = prng.int(0, 3000);
    this.fs.capacityBytes = this.fs.usedBytes() + room;
    return { room };
  }

  /** The space is freed: the disk alarm clears at the next tick, and a broker that stopped on it is started again. */
  freeDisk(): void {
    this.fs.capacityBytes = undefined;
    if (this.stoppedOnFullDisk && this.restartable) this.start();
  }

  /** The current process's clock: its skewed wall time, and timers that die with it and wait out its pauses. */
  private clock(): Clock {
    const incarnation = this.incarnation;
    const alive = () => incarnation === this.incarnation;
    return {
      now: () => EPOCH + this.env.scheduler.now + this.skew,
      after: (ms, fn) => {
        let cancelled = false;
        this.after(ms, () => {
          if (!cancelled && alive()) fn();
        });
        return () => {
          cancelled = true;
        };
      },
      every: (ms, fn) => {
        let cancelled = false;
        const again = (): void => {
          if (cancelled || !alive()) return;
          fn();
          this.after(ms, again);
        };
        this.after(ms, again);
        return () => {
          cancelled = true;
        };
      },
    };
  }

  /** Removed from the cluster: the process stops for good (production's exits once it applied its removal). */
  retire(): void {
    this.retired = true;
    if (this.state === "down") return;
    this.env.checker.crashed(this.id, this.replica?.raft);
    this.incarnation++;
    this.replica = undefined;
    this.state = "down";
    this.env.trace(this.id, "retired");
  }

  /** Power loss: the process is gone and the disk keeps what was synced, maybe a torn tail. */
  crash(): void {
    this.env.checker.crashed(this.id, this.replica?.raft);
    this.incarnation++;
    this.replica = undefined;
    this.state = "down";
    // A torn write may lose any of its sectors, not only its end (docs/storage.md, "Torn write or corruption").
    this.fs.crash({ prng: this.prng, lostSectors: 0.3 });
    this.env.trace(this.id, "crash");
  }

  /** The process is killed: it is gone, but the machine's page cache keeps what it wrote (SimFs.kill). */
  kill(): void {
    this.env.checker.crashed(this.id, this.replica?.raft);
    this.incarnation++;
    this.replica = undefined;
    this.state = "down";
    this.fs.kill();
  }

  /** Power loss while the process is down (after a kill): the disk goes back to what was synced. */
  powerLossWhileDown(): void {
    this.fs.crash({ prng: this.prng, lostSectors: 0.3 });
  }

  tick(): void {
    if (this.replica === undefined || this.env.scheduler.now < this.pausedUntil) return;
    this.replica.assembly.tick();
  }

  receive(m: Message): void {
    this.replica?.assembly.receive(m);
  }

  /** After every event, before `observe` on any machine: the checker learns what this machine's disk holds. */
  reportDisk(): void {
    const replica = this.replica;
    if (replica === undefined) return;
    const { store, raft } = replica;
    const lastIndex = store.durableIndex;
    this.env.checker.durable(this.id, {
      lastIndex,
      // The core's log agrees with the disk up to the durable index (a cut is durable before anything is written over it).
      term: (i) => (i <= lastIndex ? raft.termAt(i) : undefined),
      snapshotIndex: store.snapshot()?.meta.index ?? 0,
      damagedUntil: store.damage?.untilIndex ?? 0,
    });
  }

  /** After every event: the checker looks at the core, and role changes go to the trace. */
  observe(): void {
    const raft = this.replica?.raft;
    if (raft === undefined) return;
    if (this.repairing && this.replica?.store.damage === undefined) this.repairing = false;
    this.env.checker.observe(this.id, this.incarnation, raft);
    if (raft.role !== this.seenRole || raft.term !== this.seenTerm) {
      this.seenRole = raft.role;
      this.seenTerm = raft.term;
      this.env.trace(this.id, `becomes ${raft.role}`, {
        term: raft.term,
        last: raft.lastIndex(),
        commit: raft.commitIndex,
      });
    }
  }
}
