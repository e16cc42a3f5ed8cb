import { MqraftError } from "../util/errors.ts";
import type { Prng } from "../util/prng.ts";
import type { NodeId } from "./log-types.ts";
import type { SnapshotChunkReceiver } from "./snapshot-receiver.ts";

export interface RaftConfig {
  id: NodeId;
  /** A follower campaigns after a random timeout in [electionTicks, 2 * electionTicks) without a leader. */
  electionTicks: number;
  heartbeatTicks: number;
  /** Append messages in flight per follower before the leader waits for acknowledgements. */
  maxInflight: number;
  /**
   * Entry bytes in flight per follower before the leader waits: a follower catching up is sent no more than its
   * link can queue (beyond that the node's peer link drops messages, and replication falls back to probing).
   */
  maxInflightBytes: number;
  /** Soft limit on entry bytes per append message and per batch of committed entries in a Ready. */
  maxMsgBytes: number;
  maxSnapshotChunk: number;
  preVote: boolean;
  checkQuorum: boolean;
  /** The only source of randomness (election timeouts), so that a seed replays a run exactly. */
  prng: Prng;
  /** Last index the state machine has applied; defaults to the snapshot's index (or 0). */
  applied?: number;
  /** Collects snapshot chunks on a follower; by default in memory. */
  snapshotReceiver?: SnapshotChunkReceiver;
}

export type RaftOptions = Pick<RaftConfig, "id" | "prng"> & Partial<RaftConfig>;

export const RAFT_DEFAULTS = {
  electionTicks: 10,
  heartbeatTicks: 1,
  maxInflight: 256,
  maxInflightBytes: 8 << 20,
  maxMsgBytes: 1 << 20,
  maxSnapshotChunk: 1 << 20,
  preVote: true,
  checkQuorum: true,
} as const;

export function resolveConfig(options: RaftOptions): RaftConfig {
  const c: RaftConfig = { ...RAFT_DEFAULTS, ...options };
  const positive = (name: string, value: number) => {
    if (!Number.isSafeInteger(value) || value <= 0) {
      throw new MqraftError("BAD_CONFIG", `raft ${name} must be a positive integer, got ${value}`);
    }
  };
  positive("id", c.id);
  positive("electionTicks", c.electionTicks);
  positive("heartbeatTicks", c.heartbeatTicks);
  positive("maxInflight", c.maxInflight);
  positive("maxInflightBytes", c.maxInflightBytes);
  positive("maxMsgBytes", c.maxMsgBytes);
  positive("maxSnapshotChunk", c.maxSnapshotChunk);
  if (c.heartbeatTicks >= c.electionTicks) {
    throw new MqraftError(
      "BAD_CONFIG",
      `raft heartbeatTicks (${c.heartbeatTicks}) must be below electionTicks (${c.electionTicks})`,
    );
  }
  return c;
}
