/** What a broker assembly is given (broker-assembly.ts): its disk, clock, transport, settings and observers. */
import type { Retention } from "../broker/commands.ts";
import type { Entry, HardState, Message, NodeId, RaftOptions } from "../raft/index.ts";
import type { Fs } from "../storage/fs.ts";
import type { MqraftError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import type { Prng } from "../util/prng.ts";
import type { Clock } from "./clock.ts";
import type { DiskAlarm } from "./disk-alarm.ts";
import type { FreeSpaceProbe } from "./free-space.ts";
import type { RunningCluster } from "./fresh-folder-guard.ts";

/** How Raft messages leave this assembly; what arrives is handed to receive(). Delivery is best effort. */
export interface Transport {
  send(messages: Message[]): void;
  /** Whether the link to a peer is up (a leadership transfer to a peer that went away ends at once). */
  isConnected?(id: NodeId): boolean;
}

/** What the simulator's checker (or a metrics exporter) watches; every method is optional. */
export interface AssemblyObserver {
  recovered?(hardState: HardState): void;
  /** Before the state machine applies `entries`; `applied` is the last index it had reached. */
  applying?(applied: number, entries: readonly Entry[]): void;
  /** The state machine's bytes at `index`, as this node saved (taken) or installed (from the leader) them. */
  stateAt?(index: number, term: number, state: Uint8Array, how: "taken" | "installed"): void;
  /** After the state machine applied entries or installed a snapshot. */
  applied?(): void;
  sent?(messages: readonly Message[]): void;
  trace?(what: string, detail?: unknown): void;
}

export interface AssemblyOptions {
  id: NodeId;
  fs: Fs;
  /** This assembly's own data folder. */
  dataDir: string;
  clock: Clock;
  transport: Transport;
  /** Seeds the core's election timeouts. */
  prng: Prng;
  log: Logger;
  /** Founding members (id and address) written into a new data folder's log; empty for a node that joins. */
  founders: readonly { id: NodeId; address: string }[];
  /** Runs (and is awaited) before a new data folder receives its founding entries. */
  beforeFounding?: () => Promise<void>;
  /**
   * For an empty data folder: the cluster this broker belongs to, if it already runs (src/node/fresh-folder-guard.ts);
   * absent in the simulators, whose nodes never lose their folders.
   */
  askCluster?: () => Promise<RunningCluster | undefined>;
  heartbeatMs: number;
  /** Raft tuning beyond id and randomness (electionTicks, maxMsgBytes, ...). */
  raft: Omit<RaftOptions, "id" | "prng" | "applied">;
  segmentBytes?: number;
  repair?: boolean;
  snapshotEvery: number;
  /** --max-snapshot: the largest transfer from a leader written to disk (default DEFAULT_MAX_SNAPSHOT_BYTES). */
  maxSnapshotBytes?: number;
  retention: Retention;
  /** A configuration entry was applied (after the core's own handling). */
  configApplied?: (entry: Entry) => void;
  /** The assembly cannot go on (a persistence failure); it has stopped its driver. */
  fatal: (error: MqraftError) => void;
  /**
   * A write failed with ENOSPC (DISK_FULL): the assembly has stopped its driver, and its owner reopens it from disk
   * (disk-full-reopen.ts). Without it, such a failure goes to fatal.
   */
  diskFull?: (error: MqraftError) => void;
  /** The disk alarm of this broker's earlier assembly, when this one is reopened after ENOSPC: it goes on as it was. */
  diskAlarm?: DiskAlarm;
  /** Runs at every tick, after the core's. */
  onTick?: () => void;
  observer?: AssemblyObserver;
  /** Reads the data folder's free space for the disk alarm (docs/disk-full.md); no alarm without it. */
  freeSpace?: FreeSpaceProbe;
  /** --min-free-space in bytes; undefined: 1 GiB or 5 % of the file system, whichever is smaller. */
  minFreeBytes?: number;
  /** --remove-dead-after in ms (membership-duties.ts); off when undefined. */
  removeDeadAfterMs?: number;
  /**
   * The replicated-command version a peer said it applies (undefined: not heard yet); without it (the simulator, one
   * build) every peer applies this build's. The leader proposes a command only once every member applies it.
   */
  peerCommandVersion?: (id: NodeId) => number | undefined;
  /** This broker applied its own removal and that is the last word: stop (production) or retire (simulator). */
  removed?: () => void;
}
