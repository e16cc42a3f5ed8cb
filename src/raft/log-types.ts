/**
 * Types shared by the Raft core and the storage that persists it. The core only reads storage
 * (through LogReader); the driver writes it, then tells the core with advance().
 */

/** Node ids are small positive integers chosen by the operator (`--id 1`); 0 means "none". */
export type NodeId = number;

export const EntryKind = { Normal: 0, Config: 1 } as const;
export type EntryKind = (typeof EntryKind)[keyof typeof EntryKind];

export interface Entry {
  index: number;
  term: number;
  kind: EntryKind;
  /** Opaque to storage. Normal: application command (an empty array is the leader's no-op). Config: an encoded ConfChange. */
  data: Uint8Array;
}

export interface HardState {
  term: number;
  /** 0 when this node has not voted in `term`. */
  vote: NodeId;
  commit: number;
}

/** The cluster configuration: who votes, who only replicates, and where each member listens. */
export interface Membership {
  voters: NodeId[];
  learners: NodeId[];
  /** "host:port" of each member, keyed by id, so that a joined node is reachable by every other. */
  addresses: Record<string, string>;
}

export interface SnapshotMeta {
  /** Last log index the snapshot covers. */
  index: number;
  term: number;
  membership: Membership;
}

export interface Snapshot {
  meta: SnapshotMeta;
  /** The state machine's bytes. */
  data: Uint8Array;
}

/** Read-only view of what is persisted, as the core sees it. Must be synchronous. */
export interface LogReader {
  /**
   * Index of the first entry still held (1 for an empty log). The broker keeps entries that hold
   * retained messages after a snapshot, so this may be at or below the snapshot's index + 1.
   */
  firstIndex(): number;
  /** Index of the last entry held (snapshot index when no entries follow it). */
  lastIndex(): number;
  /** Term of the entry at `index`, for firstIndex()-1 ..= lastIndex(); undefined outside (compacted or beyond). */
  term(index: number): number | undefined;
  /** Entries [lo, hi), stopping early once maxBytes of data is reached (at least one entry is returned). */
  entries(lo: number, hi: number, maxBytes?: number): Entry[];
  /** The latest snapshot, if any. */
  snapshot(): Snapshot | undefined;
  /**
   * Bytes [offset, offset + at most maxBytes) of what a leader sends for `snapshot`, and whether they end it. Without
   * this method the snapshot's `data` is sent as it is; with it, storage can send more than it holds in memory.
   */
  snapshotChunk?(snapshot: Snapshot, offset: number, maxBytes: number): SnapshotChunk;
}

export interface SnapshotChunk {
  data: Uint8Array;
  done: boolean;
}
