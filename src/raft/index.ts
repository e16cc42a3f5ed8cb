/** The Raft core's public surface. */
export { type Bootstrap, bootstrap } from "./bootstrap.ts";
export { type ConfChange, decodeConfChange, encodeConfChange } from "./conf-change.ts";
export { RAFT_DEFAULTS, type RaftConfig, type RaftOptions } from "./config.ts";
export * from "./log-types.ts";
export { applyConfChange, confChangeProblem, EMPTY_MEMBERSHIP, isMember, isVoter } from "./membership.ts";
export { MemoryLog } from "./memory-log.ts";
export type * from "./messages.ts";
export type { ProgressState } from "./progress.ts";
export { type Proposed, RaftNode } from "./raft-node.ts";
export type { Role } from "./raft-state.ts";
export type { Ready } from "./ready.ts";
export type { SnapshotChunkReceiver } from "./snapshot-receiver.ts";
export type { PeerStatus, RaftStatus } from "./status.ts";
