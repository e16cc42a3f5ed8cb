import {
  type Entry,
  EntryKind,
  type HardState,
  type LogReader,
  type Message,
  type Proposed,
  type RaftNode,
  type Ready,
  type Snapshot,
} from "../raft/index.ts";
import { assert } from "../util/assert.ts";

/** What the driver needs of storage: LogStore implements it over the real or the simulated Fs. */
export interface DriverStorage extends LogReader {
  append(entries: readonly Entry[]): void;
  saveHardState(hs: HardState): void;
  sync(): Promise<void>;
}

export interface DriverHooks {
  /** Sends Raft messages to peers; delivery is best effort (Raft retries). */
  send(messages: Message[]): void;
  /** Applies committed entries to the state machine, in order. */
  apply(entries: Entry[]): void;
  /**
   * The core has taken in a Ready: its applied index now matches the state machine's (a follower applies before its
   * fsync ends and the core learns of it after), so this is when a snapshot of the state may be described.
   */
  advanced(): void;
  /** Persists a snapshot received from the leader and replaces the state machine with it. */
  installSnapshot(snapshot: Snapshot): Promise<void>;
  /** A persistence failure, or a broken invariant (an AssertionError): the node cannot go on safely and must stop. */
  fatal(error: unknown): void;
}

/**
 * How long a commit index may stay unsaved when no configuration entry is committed: then it is not needed for
 * safety, only to re-apply less after a restart. A Ready that commits a configuration entry always saves it and
 * waits for it (see handle()).
 */
const COMMIT_SAVE_EVERY = 1000;

/**
 * The loop of docs/design.md: tick → core; frame → step; Ready → persist → send → apply → advance (a follower applies
 * what is committed before its fsync, see handle()).
 * One Ready is processed at a time; events arriving during its fsync are stepped into the core at
 * once and come out in the next Ready, which is what batches many publishes into one fsync. A
 * leader's own fsync runs beside replication instead (handleAsLeader).
 */
export class RaftDriver {
  private running = false;
  private scheduled = false;
  private stopped = false;
  private saved: HardState;
  private readiesSinceCommitSave = 0;
  /** fsyncs a leader started and did not wait for; until they end, nothing else is sent before a sync. */
  private leaderSyncs = 0;

  constructor(
    readonly raft: RaftNode,
    private readonly storage: DriverStorage,
    private readonly hooks: DriverHooks,
    saved: HardState,
    /** Defers a callback to a later turn (setImmediate for real, the scheduler in the simulator). */
    private readonly defer: (fn: () => void) => void,
  ) {
    this.saved = saved;
  }

  tick(): void {
    if (this.stopped) return;
    this.raft.tick();
    this.schedule();
  }

  step(message: Message): void {
    if (this.stopped) return;
    this.raft.step(message);
    this.schedule();
  }

  /** Throws MqraftError NOT_LEADER unless this node leads. */
  propose(data: Uint8Array): Proposed {
    const proposed = this.raft.propose(data);
    this.schedule();
    return proposed;
  }

  /** Runs `fn` against the core (config changes, transfers) and processes what it produced. */
  withCore<T>(fn: (raft: RaftNode) => T): T {
    const result = fn(this.raft);
    this.schedule();
    return result;
  }

  stop(): void {
    this.stopped = true;
  }

  private schedule(): void {
    if (this.scheduled || this.running) return;
    this.scheduled = true;
    this.defer(() => {
      this.scheduled = false;
      void this.run();
    });
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      while (!this.stopped && this.raft.hasReady()) await this.handle(this.raft.ready());
    } catch (e) {
      this.stopped = true;
      this.hooks.fatal(e);
    } finally {
      this.running = false;
    }
  }

  private async handle(rd: Ready): Promise<void> {
    if (rd.snapshot !== undefined) await this.hooks.installSnapshot(rd.snapshot);
    if (rd.entries.length > 0) this.storage.append(rd.entries);
    const voteChanged =
      rd.hardState !== undefined && (rd.hardState.term !== this.saved.term || rd.hardState.vote !== this.saved.vote);
    // The core takes a configuration into force when it applies it (advance). A restart rebuilds the configuration
    // only up to the saved commit index, so that index must be durable past the entry first: else a restarted node
    // would count votes with the voters of an older configuration (docs/storage.md, "The commit index").
    const lastConfig = lastConfigIndex(rd.committed);
    const saveCommit =
      lastConfig > this.saved.commit ||
      (rd.hardState !== undefined && ++this.readiesSinceCommitSave >= COMMIT_SAVE_EVERY);
    if (voteChanged || saveCommit) {
      const hs = rd.hardState ?? { term: this.saved.term, vote: this.saved.vote, commit: lastConfig };
      assert(
        hs.commit >= this.saved.commit,
        () => `saved commit index falls from ${this.saved.commit} to ${hs.commit}`,
      );
      this.storage.saveHardState(hs);
      this.saved = hs;
      this.readiesSinceCommitSave = 0;
    }
    if (!voteChanged && lastConfig === 0 && rd.snapshot === undefined && this.raft.role === "leader")
      return this.handleAsLeader(rd, saveCommit);
    // Committed entries are on disk on a majority already: they are applied (and delivered to this broker's
    // subscribers) without waiting for the fsync of the entries that came with the news.
    if (rd.committed.length > 0) this.hooks.apply(rd.committed);
    // Everything else waits until what it vouches for is durable, also what a leader this node was wrote before.
    if (rd.entries.length > 0 || voteChanged || saveCommit || this.leaderSyncs > 0) await this.storage.sync();
    this.hooks.send(rd.messages);
    this.raft.advance(rd);
    this.hooks.advanced();
  }

  /**
   * A leader does not wait for its own fsync: its appends go out at once, the fsync runs in the background, and the
   * core counts its entries toward commit only when the fsync is done (`persistedTo`). An entry is committed once a
   * majority has it on disk, whichever nodes they are: two followers need not wait for a leader whose fsync is slow.
   * What is committed was fsynced on a majority, so it is applied (and acknowledged) right away.
   */
  private handleAsLeader(rd: Ready, saveCommit: boolean): void {
    this.hooks.send(rd.messages);
    const last = rd.entries.at(-1);
    if (last !== undefined || saveCommit) {
      this.leaderSyncs++;
      this.storage.sync().then(
        () => {
          this.leaderSyncs--;
          if (this.stopped || last === undefined) return;
          this.raft.persistedTo(last.index, last.term);
          this.schedule();
        },
        (e: unknown) => {
          this.stopped = true;
          this.hooks.fatal(e);
        },
      );
    }
    if (rd.committed.length > 0) this.hooks.apply(rd.committed);
    this.raft.advance(rd, false);
    this.hooks.advanced();
  }
}

/** The index of the last configuration entry among `entries`, 0 when there is none. */
function lastConfigIndex(entries: readonly Entry[]): number {
  for (let i = entries.length - 1; i >= 0; i--) {
    const e = entries[i] as Entry;
    if (e.kind === EntryKind.Config) return e.index;
  }
  return 0;
}
