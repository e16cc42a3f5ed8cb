/**
 * The messages Raft nodes exchange. Plain data only (numbers, strings, booleans, arrays,
 * Uint8Array, nested plain objects) so that src/wire can describe each one with a schema.
 */
import type { Entry, Membership, NodeId, SnapshotMeta } from "./log-types.ts";

interface Header {
  from: NodeId;
  to: NodeId;
  term: number;
}

/** AppendEntries: `entries` follow the entry at (`index`, `logTerm`); `commit` is the leader's commit index. */
export interface AppendMessage extends Header {
  type: "append";
  index: number;
  logTerm: number;
  entries: Entry[];
  commit: number;
}

/**
 * Accepted: `index` is the last index now known to match the leader. Rejected: `index` is the
 * rejected `AppendMessage.index`, and (`hintIndex`, `hintTerm`) is the follower's last entry whose
 * term is at most the leader's `logTerm`, so the leader can skip a whole term per round trip.
 */
export interface AppendResponse extends Header {
  type: "appendResponse";
  index: number;
  reject: boolean;
  hintIndex: number;
  hintTerm: number;
}

/** The leader's view of the cluster, carried by every heartbeat (as the demo's heartbeats carried the cluster map). */
export interface ClusterMap {
  membership: Membership;
  /** Members the leader heard from within the last election timeout (the leader included). */
  reachable: NodeId[];
}

/** `commit` is capped at what the follower is known to hold, so it never commits an entry it lacks. */
export interface HeartbeatMessage extends Header {
  type: "heartbeat";
  commit: number;
  cluster: ClusterMap;
}

export interface HeartbeatResponse extends Header {
  type: "heartbeatResponse";
}

/** A pre-vote asks "would you vote for me at `term`?" without anyone changing term. */
export interface VoteRequest extends Header {
  type: "vote" | "preVote";
  lastIndex: number;
  lastTerm: number;
  /** Set when a leadership transfer caused the election: voters then ignore their leader lease. */
  transfer: boolean;
  /**
   * The candidate's commit index and the term of its entry there, as in VoteResponse: a voter holding that entry
   * learns the commit from it. So a node that never heard the commit of its own promotion (it holds the entry, its
   * saved commit is older) becomes a voter in its own view and can campaign when it holds the longest log. Absent
   * from brokers of older versions.
   */
  commit?: number;
  commitTerm?: number;
}

/**
 * `commit` and `commitTerm` are the voter's commit index and the term of its entry there. A candidate that holds that
 * entry holds the same log up to it (Log Matching), all of it committed: so a voter that never heard the commit of a
 * configuration change learns it from the others it asks, and stops counting a removed node (docs/storage.md,
 * "Leaving"). Absent from brokers of older versions.
 */
export interface VoteResponse extends Header {
  type: "voteResponse" | "preVoteResponse";
  reject: boolean;
  commit?: number;
  commitTerm?: number;
}

/** One chunk of the snapshot `meta` describes: bytes [offset, offset + data.length); `done` marks the last. */
export interface SnapshotMessage extends Header {
  type: "snapshot";
  meta: SnapshotMeta;
  offset: number;
  data: Uint8Array;
  done: boolean;
}

/** How many bytes of the snapshot at `index` the follower holds: the offset of the next chunk it needs. */
export interface SnapshotResponse extends Header {
  type: "snapshotResponse";
  index: number;
  offset: number;
}

/** Leadership transfer: the target starts an election at once. */
export interface TimeoutNowMessage extends Header {
  type: "timeoutNow";
}

export type Message =
  | AppendMessage
  | AppendResponse
  | HeartbeatMessage
  | HeartbeatResponse
  | VoteRequest
  | VoteResponse
  | SnapshotMessage
  | SnapshotResponse
  | TimeoutNowMessage;

export type MessageType = Message["type"];
