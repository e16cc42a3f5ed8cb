import { StoreMetrics } from "../metrics/store-metrics.ts";
import type { Entry, HardState, LogReader, Snapshot } from "../raft/log-types.ts";
import { MqraftError } from "../util/errors.ts";
import { acquireDataLock, type DataLock } from "./data-lock.ts";
import { runProblem } from "./entry-run.ts";
import { type Fs, unlinkIfPresent } from "./fs.ts";
import { GroupCommit } from "./group-commit.ts";
import type { IndexTable } from "./index-table.ts";
import { type HistoryStream, type InstallHistory, NO_HISTORY } from "./install-intent.ts";
import { type DataLayout, dataLayout } from "./layout.ts";
import { type CacheUse, cacheUse, dataBytes, logBytes, mirrorBytesFor, recentEntriesFor } from "./log-caches.ts";
import {
  type LogRebuild,
  type PreparedInstall,
  prepareInstall,
  prepareStreamedInstall,
  replaceLogStreamed,
} from "./log-install.ts";
import { type RecoveredLog, type RecoveryReport, recoverLog } from "./log-recovery.ts";
import { type LogStoreOptions, resolveLogStoreOptions } from "./log-store-options.ts";
import { cutToDurableState, writeEntries } from "./log-writes.ts";
import type { RecentEntries } from "./recent-entries.ts";
import { renameTempIntoPlace, writeFileAtomic, writeSyncedTemp } from "./sealed-file.ts";
import { type Segment, SegmentFiles } from "./segment-files.ts";
import { readEntries } from "./segment-reader.ts";
import { type Damage, encodeDamage, encodeHardState, encodeSnapshot } from "./state-files.ts";
import { StoreHealth } from "./store-health.ts";

export type { HistoryStream, InstallHistory } from "./install-intent.ts";

export type { LogStoreOptions } from "./log-store-options.ts";

/**
 * The durable storage of one node: a segmented append-only log, the hard state and the latest
 * snapshot, in a locked data folder. Reads are synchronous (LogReader, for the Raft core). Writes
 * reach the page cache at once; sync() makes them durable, one fdatasync for everything written
 * before it (group commit). docs/storage.md describes the files and the recovery rules.
 */
export class LogStore implements LogReader {
  private readonly files: SegmentFiles;
  private readonly commit = new GroupCommit(() => this.flush());
  private readonly index: IndexTable;
  /** The tail of the log as appended, for reads that copy and check nothing; within the same budget as the mirror. */
  private readonly recent: RecentEntries;
  /** Term of the entry just before the first one held. */
  private prevTerm: number;
  private snap: Snapshot | undefined;
  private hard: HardState;
  private hardVersion = 0;
  private hardDurableVersion = 0;
  private durable: number;
  /** Bumped by every operation that removes entries, so a flush started before one does not claim them. */
  private epoch = 0;
  private damaged: Damage | undefined;
  private readonly health: StoreHealth;
  /** The parts of this store an install changes (log-install.ts). */
  private readonly rebuild: LogRebuild;
  /** The snapshot file is written by one operation at a time (a broker's own snapshot, the leader's), else both would write its temp file. */
  private snapshotWrites: Promise<unknown> = Promise.resolve();
  /** What recovery found when the store was opened. */
  readonly recovery: RecoveryReport;
  /** Observability: fsync, append and snapshot timings, read by /metrics (src/metrics). */
  readonly metrics = new StoreMetrics();

  private constructor(
    private readonly fs: Fs,
    private readonly layout: DataLayout,
    private readonly lock: DataLock,
    private readonly maxSegmentBytes: number,
    cacheBytes: number,
    r: RecoveredLog,
  ) {
    this.health = new StoreHealth(layout.dir);
    this.files = new SegmentFiles(fs, layout.logDir, mirrorBytesFor(cacheBytes), (e) => (this.health.failure ??= e));
    this.recent = recentEntriesFor(cacheBytes);
    this.index = r.index;
    this.prevTerm = r.prevTerm;
    this.snap = r.snapshot;
    this.hard = { ...r.hardState };
    this.durable = r.index.lastIndex;
    this.damaged = r.damage;
    this.recovery = r.report;
    this.rebuild = {
      fs,
      layout,
      files: this.files,
      index: this.index,
      flushRunning: () => this.commit.busy,
      restart: (first, prevTerm) => {
        this.recent.clear();
        this.index.reset(first);
        this.prevTerm = prevTerm;
        this.epoch++;
      },
      writeEntries: (entries) => this.writeEntries(entries),
      snapshotInPlace: (snapshot) => {
        this.snap = snapshot;
      },
      durableUpTo: (index) => {
        this.durable = index;
      },
      reportDurable: () => this.reportDurable(),
    };
  }

  /** Locks the data folder, recovers it, and makes everything recovered durable. */
  static async open(options: LogStoreOptions): Promise<LogStore> {
    const { fs, maxSegmentBytes, cacheBytes, repair } = resolveLogStoreOptions(options);
    const layout = dataLayout(options.dir);
    fs.mkdir(layout.dir);
    const lock = acquireDataLock(fs, layout.dir, layout.lock);
    let store: LogStore | undefined;
    try {
      const r = await recoverLog(fs, layout, repair);
      store = new LogStore(fs, layout, lock, maxSegmentBytes, cacheBytes, r);
      for (const s of r.segments) store.files.adopt(s.firstIndex, s.path);
      // After a process kill (not a power loss) the page cache may hold bytes never synced.
      const newest = store.files.newest;
      if (newest) fs.datasyncSync(newest.fd);
      fs.syncDirSync(layout.logDir);
      if (r.unfinishedInstall)
        await replaceLogStreamed(store.rebuild, r.snapshot?.meta ?? { index: 0, term: 0 }, r.unfinishedInstall);
      await store.clearDamageIfCaughtUp();
      return store;
    } catch (e) {
      store?.files.closeAll();
      lock.release();
      throw e;
    }
  }

  firstIndex(): number {
    return this.index.firstIndex;
  }

  lastIndex(): number {
    return this.index.lastIndex;
  }

  term(index: number): number | undefined {
    if (this.index.has(index)) return this.index.term(index);
    return index === this.index.firstIndex - 1 ? this.prevTerm : undefined;
  }

  entries(lo: number, hi: number, maxBytes = Number.POSITIVE_INFINITY): Entry[] {
    this.health.assertOpen();
    if (lo < this.index.firstIndex || hi > this.index.lastIndex + 1 || lo > hi) {
      throw new MqraftError(
        "NOT_FOUND",
        `entries [${lo}, ${hi}) are outside the log [${this.index.firstIndex}, ${this.index.lastIndex}]`,
      );
    }
    return this.recent.read(lo, hi, maxBytes) ?? readEntries(this.files, this.index, lo, hi, maxBytes);
  }

  snapshot(): Snapshot | undefined {
    return this.snap;
  }

  /** The last log index known to be on stable storage. */
  get durableIndex(): number {
    return this.durable;
  }

  /** The latest hard state saved (durable once a later sync() resolves). */
  hardState(): HardState {
    return { ...this.hard };
  }

  /**
   * Set after a repair cut a corrupt log: the node must not vote or lead until its log is durable
   * past `untilIndex`. Cleared (and its marker file removed) once it is.
   */
  get damage(): Damage | undefined {
    return this.damaged;
  }

  /**
   * Leaves a damage marker as a repair does: the node must not vote or lead until its log is durable past
   * `damage.untilIndex` or holds an entry of a term above `damage.aboveTerm` (an empty folder of a broker that may have
   * run before, src/node/fresh-folder-guard.ts). Durable when it resolves.
   */
  async markDamaged(damage: Damage): Promise<void> {
    this.health.assertWritable();
    await writeFileAtomic(this.fs, this.layout.dir, this.layout.damage, encodeDamage(damage));
    this.damaged = damage;
  }

  /** Test support for power-loss checks: each segment file and the length last known fsynced. */
  durableFileLengths(): { path: string; length: number }[] {
    return this.files.list.map((s) => ({ path: s.path, length: s.durableSize }));
  }

  /**
   * Test support (src/node/test-durability.ts): called with durableFileLengths() whenever they grow or the files
   * change, before the sync that made them durable resolves (so before anything it covers is acknowledged).
   * Declared only, so that the release binary holds no field of that name.
   */
  declare onDurableLengths?: (lengths: { path: string; length: number }[]) => void;

  /** Sends the report now; does nothing in the release binary (`make build` defines MQRAFT_TEST_HOOKS as "off"). */
  reportDurable(): void {
    if (process.env.MQRAFT_TEST_HOOKS === "off") return;
    this.onDurableLengths?.(this.durableFileLengths());
  }

  /**
   * Appends contiguous entries. Appending at an index the log already holds first removes that
   * entry and everything after it (a conflicting suffix). Durable after the next sync().
   */
  append(entries: readonly Entry[]): void {
    this.health.assertWritable();
    const head = entries[0];
    if (head === undefined) return;
    if (head.index <= this.index.lastIndex) this.truncateSuffix(head.index);
    const prevTerm = this.term(head.index - 1);
    if (head.index !== this.index.lastIndex + 1 || prevTerm === undefined) {
      throw new MqraftError(
        "INTERNAL",
        `cannot append index ${head.index} to a log holding [${this.index.firstIndex}, ${this.index.lastIndex}]`,
      );
    }
    const problem = runProblem(entries, prevTerm);
    if (problem !== undefined)
      throw new MqraftError("INTERNAL", `appended entries must be contiguous with non-decreasing terms (${problem})`);
    this.health.guard(() => this.writeEntries(entries));
    this.recent.push(entries);
    this.metrics.appendBatchEntries.observe(entries.length);
  }

  /** Removes `fromIndex` and every entry after it. Durable when it returns (it is rare: a leader change). */
  truncateSuffix(fromIndex: number): void {
    this.health.assertWritable();
    if (fromIndex > this.index.lastIndex) return;
    if (fromIndex < this.index.firstIndex) {
      throw new MqraftError(
        "INTERNAL",
        `cannot truncate from ${fromIndex}: the log starts at ${this.index.firstIndex}`,
      );
    }
    this.health.guard(() => {
      const k = this.files.positionOf(fromIndex);
      while (this.files.list.length - 1 > k) this.files.remove("newest", this.commit.busy);
      // Durable before anything new is written over the cut, so a crash can never show new
      // records followed by stale old ones that a lost truncation would have left.
      this.files.truncateNow(this.files.list[k] as Segment, this.index.position(fromIndex));
      this.index.truncateFrom(fromIndex);
      this.recent.truncateFrom(fromIndex);
      this.durable = fromIndex - 1;
      this.epoch++;
    });
    this.reportDurable();
  }

  /** Records the hard state; it is written (atomically) by the next sync(). */
  saveHardState(hs: HardState): void {
    this.health.assertWritable();
    this.hard = { term: hs.term, vote: hs.vote, commit: hs.commit };
    this.hardVersion++;
  }

  /** Bytes of the segment files (as written, durable or not). */
  get logBytes(): number {
    return logBytes(this.files);
  }

  /** Every append, truncation and hard state saved before this call is durable when it resolves. */
  sync(): Promise<void> {
    this.health.assertWritable();
    return this.commit.request();
  }

  /**
   * Saves a snapshot of the state machine (covering entries this log holds). Log entries are kept:
   * compactPrefix() removes them when the broker no longer needs them.
   */
  async saveSnapshot(snapshot: Snapshot): Promise<void> {
    this.health.assertWritable();
    await this.oneSnapshotWriteAtATime(async () => {
      const { index, term } = snapshot.meta;
      if (index < (this.snap?.meta.index ?? 0) || this.term(index) !== term) {
        throw new MqraftError(
          "INTERNAL",
          `snapshot at index ${index} term ${term} does not match the log or is older than the current one`,
        );
      }
      // The snapshot must never be on disk ahead of the log it summarises.
      if (index > this.durable) await this.sync();
      if (index > this.durable)
        throw new MqraftError("INTERNAL", `snapshot at index ${index} is beyond the durable log (${this.durable})`);
      const started = performance.now();
      await this.health.guardAsync(() =>
        writeFileAtomic(this.fs, this.layout.dir, this.layout.snapshot, encodeSnapshot(snapshot)),
      );
      this.metrics.snapshotSeconds.observe((performance.now() - started) / 1000);
      this.snap = snapshot;
    });
  }

  /**
   * A leader's snapshot, with the log entries at or below its index that the leader still keeps
   * (see InstallHistory): afterwards the log holds exactly `history.entries` (firstIndex() is the
   * first of them, term(firstIndex() - 1) is `history.prevTerm`), or with no history nothing, and
   * it continues at the snapshot's index + 1. A crash at any point leaves either the old snapshot
   * with the old log, or all of this (docs/storage.md, "Installing a snapshot").
   */
  async installSnapshot(snapshot: Snapshot, history: InstallHistory = NO_HISTORY): Promise<void> {
    this.health.assertWritable();
    await this.install(prepareInstall(snapshot, history));
  }

  /**
   * installSnapshot with a history read a batch at a time (a transfer received into a file): the intent file and the
   * log are written a batch at a time, so the store never holds the whole history. The same crash guarantees hold.
   */
  async installSnapshotStreamed(snapshot: Snapshot, history: HistoryStream): Promise<void> {
    this.health.assertWritable();
    await this.install(prepareStreamedInstall(snapshot, history));
  }

  private async install(write: PreparedInstall): Promise<void> {
    this.health.installing = true;
    try {
      await this.oneSnapshotWriteAtATime(() => this.health.guardAsync(() => write(this.rebuild)));
    } finally {
      this.health.installing = false;
    }
    await this.clearDamageIfCaughtUp();
  }

  /** The caches of the log's tail (docs/memory.md), for /metrics. */
  cacheUse(): CacheUse {
    return cacheUse(this.recent, this.files);
  }

  /** Bytes of entry data in [lo, hi) (all held), from the index alone: what a snapshot transfer announces. */
  dataBytes(lo: number, hi: number): number {
    this.health.assertOpen();
    return dataBytes(this.files, this.index, lo, hi);
  }

  /**
   * Deletes whole segments whose entries are all <= upToIndex, never beyond the snapshot's index
   * and never the newest segment. firstIndex() moves to the first entry still held.
   */
  compactPrefix(upToIndex: number): void {
    this.health.assertWritable();
    const limit = Math.min(upToIndex, this.snap?.meta.index ?? 0);
    this.health.guard(() => {
      for (
        let next = this.files.list[1];
        next !== undefined && next.firstIndex - 1 <= limit;
        next = this.files.list[1]
      ) {
        this.prevTerm = this.index.term(next.firstIndex - 1);
        this.index.dropBefore(next.firstIndex);
        this.files.remove("oldest", this.commit.busy);
      }
    });
  }

  /** Waits for a running sync, closes the files and releases the data folder. Does not sync. */
  close(): Promise<void> {
    return this.closeFiles(this.health.failure === undefined ? (files) => files.writePending() : () => {});
  }

  /**
   * After a failed write or sync: as close(), with the log cut back to what was last synced (log-writes.ts), so that
   * it can be opened again at its last durable state. It waits for a snapshot being written too: the store opened
   * next may write its own snapshot.tmp, which this one's rename would put in place half written.
   */
  closeAtDurableState(): Promise<void> {
    return this.closeFiles(cutToDurableState, this.snapshotWrites);
  }

  private async closeFiles(last: (files: SegmentFiles) => void, writing?: Promise<unknown>): Promise<void> {
    if (this.health.closed) return;
    this.health.closed = true;
    await writing;
    await this.commit.idle();
    try {
      last(this.files);
    } finally {
      this.files.closeAll();
      this.lock.release();
    }
  }

  private writeEntries(entries: readonly Entry[]): void {
    writeEntries(
      this.files,
      this.index,
      entries,
      this.maxSegmentBytes,
      (i) => this.term(i),
      (seg) => this.seal(seg),
    );
  }

  /**
   * Makes a full segment durable before its successor receives anything, so that only the newest
   * segment can ever hold a torn write and damage anywhere else is known to be corruption.
   */
  private seal(seg: Segment): void {
    this.files.syncNow(seg);
    this.durable = this.index.lastIndex;
    this.reportDurable();
  }

  private async flush(): Promise<void> {
    if (this.health.failure !== undefined) throw this.health.failedError();
    this.health.guard(() => this.files.writePending());
    const seg = this.files.newest;
    const segSize = seg?.size ?? 0;
    const target = this.index.lastIndex;
    const epoch = this.epoch;
    const hardVersion = this.hardVersion;
    const hard = hardVersion !== this.hardDurableVersion ? encodeHardState(this.hard) : undefined;
    const started = performance.now();
    try {
      await this.health.guardAsync(async () => {
        await Promise.all([
          seg !== undefined && segSize > seg.durableSize ? this.fs.datasync(seg.fd) : undefined,
          hard ? writeSyncedTemp(this.fs, this.layout.hardState, hard) : undefined,
        ]);
        if (hard) renameTempIntoPlace(this.fs, this.layout.hardState);
        await Promise.all([this.files.syncDir(), hard ? this.fs.syncDir(this.layout.dir) : undefined]);
      });
    } finally {
      this.files.closeRetired();
    }
    this.metrics.fsyncSeconds.observe((performance.now() - started) / 1000);
    if (epoch === this.epoch) {
      if (seg !== undefined) seg.durableSize = Math.max(seg.durableSize, segSize);
      this.durable = Math.max(this.durable, target);
    }
    this.reportDurable();
    this.hardDurableVersion = Math.max(this.hardDurableVersion, hardVersion);
    await this.clearDamageIfCaughtUp();
  }

  private async clearDamageIfCaughtUp(): Promise<void> {
    if (this.damaged === undefined) return;
    const { untilIndex, aboveTerm } = this.damaged;
    // A leader of a later term was elected without this node's vote, so it holds every entry committed with this
    // node's old acknowledgements; an entry of its term here means the log before it agrees with that leader's.
    const newerTerm = aboveTerm !== undefined && (this.term(this.durable) ?? 0) > aboveTerm;
    if (this.durable < untilIndex && !newerTerm) return;
    this.damaged = undefined;
    unlinkIfPresent(this.fs, this.layout.damage);
    await this.fs.syncDir(this.layout.dir);
  }

  private oneSnapshotWriteAtATime(work: () => Promise<void>): Promise<void> {
    const run = this.snapshotWrites.then(work);
    this.snapshotWrites = run.catch(() => undefined);
    return run;
  }
}
