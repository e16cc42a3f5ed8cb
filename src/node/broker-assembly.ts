/**
 * One broker's replicated core, whole: the data folder's store, the Raft core, the driver loop, the
 * replicated state machine, reading entries back, the snapshot schedule and snapshot installs. It is
 * given a Clock, a Transport and an Fs, so production (BrokerNode, which adds sockets, listeners and
 * signals) and the simulator run exactly this code. Nothing in it is process-wide: one process may
 * host several, one per Raft group, each in a data folder of its own.
 */
import { join } from "node:path";
import { COMMAND_VERSION, commandRefusal, everyMemberApplies } from "../broker/command-versions.ts";
import { BrokerState } from "../broker/state-machine.ts";
import { type Entry, type Message, type NodeId, RAFT_DEFAULTS, RaftNode, type Snapshot } from "../raft/index.ts";
import { LogStore } from "../storage/log-store.ts";
import { PartsSnapshot } from "../storage/parts-snapshot.ts";
import { AssertionError, assert } from "../util/assert.ts";
import { describeError, isMqraftError, MqraftError } from "../util/errors.ts";
import { found, reportRecovery } from "./assembly-boot.ts";
import type { AssemblyOptions } from "./assembly-options.ts";
import { CommandClock } from "./command-clock.ts";
import type { DiskAlarm } from "./disk-alarm.ts";
import { DiskGuard, persistenceFailure } from "./disk-guard.ts";
import { latestLogTime } from "./log-time.ts";
import { MembershipDuties } from "./membership-duties.ts";
import { RaftDriver } from "./raft-driver.ts";
import { ReplicatedBroker } from "./replicated-broker.ts";
import { RoleWatcher } from "./role-watcher.ts";
import { INCOMING_SNAPSHOT, SnapshotFileReceiver } from "./snapshot-file-receiver.ts";
import { installTransfer } from "./snapshot-install.ts";
import { nextSnapshotIndex } from "./snapshot-schedule.ts";
import { TransferLogView } from "./snapshot-transfer.ts";
import { TimeTicker } from "./time-ticker.ts";

export type { AssemblyObserver, AssemblyOptions, Transport } from "./assembly-options.ts";

export class BrokerAssembly {
  readonly driver: RaftDriver;
  readonly broker: ReplicatedBroker;
  readonly watcher: RoleWatcher;
  /** The commit index found on disk at start (capped at the recovered log). */
  readonly bootCommit: number;
  /** The time stamped on the commands this node proposes as leader (command-clock.ts). */
  readonly commandTime: () => number;
  /** Joins, leaves, transfers, and what the broker does about membership by itself every tick. */
  readonly membership: MembershipDuties;
  /** Where a snapshot transfer from the leader is written (its size is reported on /metrics). */
  readonly snapshotReceiver: SnapshotFileReceiver;
  /** The snapshot being taken and saved, if one is. */
  private snapshotting: Promise<void> | undefined;
  /** The last index the state machine reached (ahead of the core's applied index until the driver advances). */
  private appliedTo: number;
  private stopTicker: (() => void) | undefined;
  /** The disk alarm and what it changes (disk-guard.ts); undefined without a free-space probe. */
  private readonly diskGuard: DiskGuard | undefined;
  /** As leader, moves the time on an idle cluster once a TTL or the age limit has run out (time-ticker.ts). */
  private readonly timeTicker: TimeTicker;
  private stopped = false;

  private soleVoterWarned = false;

  /** A repaired broker whose configuration names it the only voter can never be brought back by another one. */
  private warnIfSoleVoter(): void {
    const voters = this.raft.membership.voters;
    const damage = this.store.damage;
    if (damage === undefined || voters.length !== 1 || voters[0] !== this.options.id) return;
    this.soleVoterWarned = true;
    this.options.log.warn(
      `This broker's log names it the only voter: no other broker can bring back what the repair cut (from index ${damage.fromIndex}), so it will not lead. If other brokers exist, start them and it catches up. If it really is the only broker, those entries are lost for good: to accept that, stop it and remove ${join(this.options.dataDir, "damaged")}; it then leads with what it kept (docs/storage.md, "Recovery at start")`,
    );
  }

  /**
   * Opens (and recovers) the data folder, founds a new cluster's log if it is empty, and builds the node. A file-system
   * error fails it as persistenceFailure() names it: DISK_FULL on a full disk (the founding entries, say).
   */
  static async open(options: AssemblyOptions): Promise<BrokerAssembly> {
    const store = await LogStore.open({
      fs: options.fs,
      dir: options.dataDir,
      ...(options.segmentBytes === undefined ? {} : { maxSegmentBytes: options.segmentBytes }),
      repair: options.repair ?? false,
    }).catch((e: unknown) => {
      throw isMqraftError(e) ? e : persistenceFailure(e, options.dataDir);
    });
    try {
      await found(store, options);
      return new BrokerAssembly(options, store);
    } catch (e) {
      // founding entries that failed to sync go, so that the next start finds the folder new again
      await store.closeAtDurableState().catch(() => undefined);
      throw isMqraftError(e) ? e : persistenceFailure(e, options.dataDir);
    }
  }

  private constructor(
    private readonly options: AssemblyOptions,
    readonly store: LogStore,
  ) {
    const { log, observer, clock } = options;
    reportRecovery(store, log);
    const saved = store.hardState();
    observer?.recovered?.(saved);
    // A saved commit index beyond the recovered log (a cut torn tail, a repaired log) is not fatal: commit is
    // volatile in Raft, and the leader tells this node again (reported above as recovery.commitBeyondLog).
    const hardState = { ...saved, commit: Math.min(saved.commit, store.lastIndex()) };
    this.bootCommit = hardState.commit;
    const receiver = new SnapshotFileReceiver(
      options.fs,
      join(options.dataDir, INCOMING_SNAPSHOT),
      log,
      options.maxSnapshotBytes,
    );
    this.snapshotReceiver = receiver;
    const raft = new RaftNode(
      { ...options.raft, id: options.id, prng: options.prng, snapshotReceiver: receiver },
      new TransferLogView(store),
      hardState,
    );
    const defer = (fn: () => void): void => void clock.after(0, fn);
    // one leader's wrong wall clock must not move the state machine's time (retention, dedup expiry)
    this.commandTime = new CommandClock({
      wall: () => clock.now(),
      monotonic: () => clock.monotonic?.() ?? clock.now(),
      term: () => this.driver.raft.term,
      stateTime: () => this.broker.state.time,
      // a stopped assembly's store is closed (a disk-full reopen, a stop): what it stamps is never proposed
      logTime: () =>
        this.stopped ? 0 : latestLogTime((i) => this.entryAt(i), this.driver.raft.appliedIndex, store.lastIndex()),
      warn: (message) => log.warn(message),
    }).now;
    this.broker = new ReplicatedBroker(
      () => this.driver,
      (index) => this.readEntry(index),
      this.commandTime,
      defer,
      options.retention,
      (e) => {
        this.membership.configApplied(e);
        options.configApplied?.(e);
      },
    );
    const versionOf = (id: number): number | undefined =>
      id === options.id || options.peerCommandVersion === undefined ? COMMAND_VERSION : options.peerCommandVersion(id);
    const members = (): number[] => {
      const { voters, learners } = this.driver.raft.membership;
      return [...voters, ...learners];
    };
    this.broker.versionGate = (type) => commandRefusal(type, members(), versionOf);
    this.broker.membersApply = (version) => everyMemberApplies(version, members(), versionOf);
    this.timeTicker = new TimeTicker({
      state: () => this.broker.state,
      now: this.commandTime,
      isLeader: () => this.driver.raft.role === "leader",
      propose: (c) => this.broker.propose(c),
    });
    this.membership = new MembershipDuties({
      id: options.id,
      driver: () => this.driver,
      pending: this.broker.pending,
      log,
      clock,
      electionMs: (options.raft.electionTicks ?? RAFT_DEFAULTS.electionTicks) * options.heartbeatMs,
      ...(options.transport.isConnected === undefined
        ? {}
        : { isConnected: (id: NodeId) => options.transport.isConnected?.(id) ?? true }),
      ...(options.removeDeadAfterMs === undefined ? {} : { removeDeadAfterMs: options.removeDeadAfterMs }),
      ...(options.removed === undefined ? {} : { removed: options.removed }),
      historyEnd: store.lastIndex(),
    });
    if (options.freeSpace !== undefined) {
      this.diskGuard = new DiskGuard({
        id: options.id,
        dataDir: options.dataDir,
        log,
        electionTicks: options.raft.electionTicks ?? RAFT_DEFAULTS.electionTicks,
        freeSpace: options.freeSpace,
        minFreeBytes: options.minFreeBytes,
        alarm: options.diskAlarm,
        driver: () => this.driver,
        addressOf: (id) => this.addressOf(id),
      });
      this.diskGuard.gate(this.broker);
    }
    const snapshot = store.snapshot();
    if (snapshot !== undefined) this.broker.state = BrokerState.restore(snapshot.data);
    this.appliedTo = raft.appliedIndex;
    raft.withholdVotes = store.damage !== undefined;
    // a marker of an older version has no term: then no vote at all until caught up
    const lost = store.damage;
    raft.voteFloor = lost?.aboveTerm === undefined ? undefined : { term: lost.aboveTerm, index: lost.untilIndex };
    this.watcher = new RoleWatcher(raft, log, (id) => this.addressOf(id));
    this.driver = new RaftDriver(
      raft,
      store,
      {
        send: (messages) => {
          observer?.sent?.(messages);
          options.transport.send(messages);
          this.watcher.check();
        },
        apply: (entries) => {
          observer?.applying?.(this.appliedTo, entries);
          assert(
            entries.every((e, i) => e.index === this.appliedTo + 1 + i),
            () => {
              return `the state machine at ${this.appliedTo} is given entries ${entries[0]?.index}..${entries.at(-1)?.index}`;
            },
          );
          this.appliedTo = entries.at(-1)?.index ?? this.appliedTo;
          this.broker.apply(entries);
          observer?.applied?.();
        },
        advanced: () => {
          // The store drops its damage marker once the log is durable past everything it may have held.
          if (raft.withholdVotes && store.damage === undefined) {
            raft.withholdVotes = false;
            log.info("The log holds again what the repair or an empty folder may have lost: this broker votes again");
          }
          if (raft.withholdVotes && !this.soleVoterWarned) this.warnIfSoleVoter();
          this.maybeSnapshot();
        },
        installSnapshot: (snap) => this.installSnapshot(snap),
        fatal: (e) => {
          if (e instanceof AssertionError) {
            // A bug in mqraft, not the disk: say so, and stop before acting on a state that cannot be.
            log.error(`Stopping: ${e.message} (a bug in mqraft; please report it with this log)`);
            options.fatal(new MqraftError("INTERNAL", e.message, { cause: e }));
            return;
          }
          if (isMqraftError(e, "UNSUPPORTED_VERSION")) {
            log.error(`Stopping: ${e.message}`);
            return options.fatal(e);
          }
          const error = persistenceFailure(e, options.dataDir);
          if (error.code === "DISK_FULL" && options.diskFull !== undefined) {
            this.diskAlarm?.noSpace();
            return options.diskFull(error);
          }
          log.error(`Stopping: cannot persist the log: ${error.message}`);
          options.fatal(error);
        },
      },
      hardState,
      defer,
    );
    observer?.trace?.("boot", {
      first: store.firstIndex(),
      last: store.lastIndex(),
      snapshot: snapshot?.meta.index ?? 0,
      ...saved,
    });
  }

  /** Starts the ticker: the core's logical clock, one tick per heartbeat. */
  start(): void {
    this.diskAlarm?.check();
    this.stopTicker ??= this.options.clock.every(this.options.heartbeatMs, () => this.tick());
  }

  tick(): void {
    if (this.stopped) return;
    this.driver.tick();
    this.diskGuard?.tick();
    this.watcher.check();
    this.membership.tick();
    this.broker.groups.tick();
    this.timeTicker.tick();
    this.options.onTick?.();
  }

  /** A Raft message from a peer. */
  receive(m: Message): void {
    if (this.diskGuard?.admits(m) === false) return;
    this.driver.step(m);
  }

  /** Raised below --min-free-space: the leader then refuses publishes (undefined without a free-space probe). */
  get diskAlarm(): DiskAlarm | undefined {
    return this.diskGuard?.alarm;
  }

  get raft(): RaftNode {
    return this.driver.raft;
  }

  addressOf(id: NodeId): string {
    return this.driver.raft.membership.addresses[String(id)] ?? `node ${id}`;
  }

  /** The data of the entry at `index`, if this node's log still holds it. */
  readEntry(index: number): Uint8Array | undefined {
    return this.entryAt(index)?.data;
  }

  private entryAt(index: number): Entry | undefined {
    if (index < this.store.firstIndex() || index > this.store.lastIndex()) return undefined;
    return this.store.entries(index, index + 1)[0];
  }

  /**
   * Stops the ticker and the driver, fails what is pending, and closes the store; `atDurableState`: with the log cut
   * back to what was last synced (after a failed write, before the store is opened again: disk-full-reopen.ts).
   */
  async stop(how: { atDurableState?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.stopTicker?.();
    this.membership.stop();
    this.driver.stop();
    this.broker.pending.failAll(new MqraftError("UNAVAILABLE", "the broker is stopping"));
    if (how.atDurableState) await this.store.closeAtDurableState();
    else await this.store.close().catch(() => undefined);
  }

  /** A snapshot from the leader, as the stream snapshot-stream.ts describes (verified by the receiver already). */
  private async installSnapshot(snapshot: Snapshot): Promise<void> {
    assert(snapshot.meta.index > this.appliedTo, () => {
      return `a snapshot at ${snapshot.meta.index} would replace a state machine at ${this.appliedTo}`;
    });
    const { state, retained, bytes } = await installTransfer(this.store, snapshot);
    this.broker.restore(state);
    this.appliedTo = snapshot.meta.index;
    this.options.observer?.stateAt?.(snapshot.meta.index, snapshot.meta.term, state.data, "installed");
    this.options.observer?.applied?.();
    this.options.observer?.trace?.("install snapshot", { index: snapshot.meta.index, retained });
    this.options.log.info(
      `Sync data with peer: installed the leader's snapshot at index ${snapshot.meta.index} (${bytes} bytes, ${retained} retained log entries)`,
    );
  }

  /**
   * Saves a snapshot of the state machine every so many applied entries (so a restart replays
   * little), at indexes of this broker's own (snapshot-schedule.ts), and drops log segments that no
   * longer hold a retained message.
   */
  private maybeSnapshot(): void {
    const applied = this.driver.raft.appliedIndex;
    const current = this.store.snapshot()?.meta.index ?? 0;
    if (this.snapshotting || applied < nextSnapshotIndex(current, this.options.snapshotEvery, this.options.id)) return;
    this.takeSnapshot(applied);
  }

  /**
   * The latest snapshot, taken first at the applied index if entries were applied since the last one: for `mqraft
   * snapshot save`, which streams it with the log entries that hold its retained messages (snapshot-save.ts).
   */
  async latestSnapshot(): Promise<Snapshot> {
    while (this.snapshotting !== undefined) await this.snapshotting;
    const applied = this.driver.raft.appliedIndex;
    if (applied > (this.store.snapshot()?.meta.index ?? 0)) await this.takeSnapshot(applied);
    const snapshot = this.store.snapshot();
    if (snapshot === undefined || snapshot.meta.index < applied)
      throw new MqraftError("UNAVAILABLE", `could not take a snapshot at index ${applied} (the broker's log says why)`);
    return snapshot;
  }

  private takeSnapshot(applied: number): Promise<void> {
    const raft = this.driver.raft;
    const snapshot = new PartsSnapshot(raft.compact(applied), this.broker.state.snapshotParts());
    // Taken with the snapshot: by the time it is saved the state has applied more, and retention may
    // have dropped messages that this snapshot still retains (found by the driver simulation).
    const lowest = this.broker.state.lowestNeededIndex() ?? applied + 1;
    const { observer, log } = this.options;
    if (observer?.stateAt !== undefined)
      observer.stateAt(applied, snapshot.meta.term, Buffer.concat(snapshot.parts), "taken");
    this.snapshotting = this.store
      .saveSnapshot(snapshot)
      .then(() => {
        this.store.compactPrefix(Math.min(applied, lowest - 1));
        observer?.trace?.("snapshot", { index: applied, first: this.store.firstIndex() });
        log.debug(`Snapshot at index ${applied}; the log now starts at ${this.store.firstIndex()}`);
      })
      .catch((e) => log.warn(`Snapshot at index ${applied} failed: ${describeError(e)}`))
      .finally(() => {
        this.snapshotting = undefined;
      });
    return this.snapshotting;
  }
}
