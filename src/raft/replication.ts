/** The leader's side of log replication: appends, heartbeats, snapshot chunks, commit. */
import { MqraftError } from "../util/errors.ts";
import { entryBytes } from "./entry-size.ts";
import type { EntryKind, NodeId, Snapshot, SnapshotChunk } from "./log-types.ts";
import type { Progress } from "./progress.ts";
import { quorumIndex } from "./quorum.ts";
import type { RaftState } from "./raft-state.ts";

/** Appends one entry of the leader's term to its own log; returns its index. */
export function appendLocal(r: RaftState, kind: EntryKind, data: Uint8Array): number {
  const index = r.log.lastIndex() + 1;
  r.log.append([{ index, term: r.term, kind, data }]);
  r.needBroadcast = true;
  return index;
}

/**
 * Sends `to` what it lacks: entries from pr.next (as many messages as its window allows), an
 * empty append when `sendIfEmpty` (a probe, or news of the commit index), or snapshot chunks.
 */
export function sendAppends(r: RaftState, to: NodeId, pr: Progress, sendIfEmpty: boolean): void {
  if (!sendAppend(r, to, pr, sendIfEmpty)) return;
  while (sendAppend(r, to, pr, false));
}

function sendAppend(r: RaftState, to: NodeId, pr: Progress, sendIfEmpty: boolean): boolean {
  if (pr.paused()) return false;
  const index = pr.next - 1;
  const logTerm = r.log.term(index);
  if (logTerm === undefined || pr.next < r.log.firstIndex()) {
    sendSnapshotChunk(r, to, pr);
    return false;
  }
  const last = r.log.lastIndex();
  const entries = pr.next <= last ? r.log.entries(pr.next, last + 1, r.cfg.maxMsgBytes) : [];
  if (entries.length === 0 && !sendIfEmpty) return false;
  const commit = r.log.committed;
  r.send({ type: "append", from: r.id, to, term: r.term, index, logTerm, entries, commit });
  pr.sentAppend(index + entries.length, entries.length > 0, entryBytes(entries));
  pr.sentCommit = Math.max(pr.sentCommit, commit);
  return true;
}

/** Sends every follower its new entries, and the commit index to those that have not seen it. */
export function broadcastAppend(r: RaftState): void {
  for (const [id, pr] of r.progress) {
    if (id !== r.id) sendAppends(r, id, pr, pr.sentCommit < r.log.committed);
  }
}

export function broadcastHeartbeat(r: RaftState): void {
  const cluster = r.leaderClusterMap();
  for (const [to, pr] of r.progress) {
    if (to === r.id) continue;
    const commit = Math.min(pr.match, r.log.committed);
    r.send({ type: "heartbeat", from: r.id, to, term: r.term, commit, cluster });
  }
}

/**
 * Sends the chunk of the storage's snapshot that `to` needs next. A newer snapshot replaces the
 * one in transfer, which then starts over.
 */
export function sendSnapshotChunk(r: RaftState, to: NodeId, pr: Progress): void {
  const snap = r.log.storage.snapshot();
  if (snap === undefined) {
    throw new MqraftError("INTERNAL", `node ${to} needs entry ${pr.next}, compacted, but storage holds no snapshot`);
  }
  if (pr.state !== "snapshot" || pr.pendingSnapshot !== snap.meta.index) {
    pr.becomeSnapshot(snap.meta.index);
    pr.snapshotSentAt = r.ticks;
  }
  const storage = r.log.storage;
  const offset =
    storage.snapshotChunk === undefined ? Math.min(pr.snapshotOffset, snap.data.length) : pr.snapshotOffset;
  const { data, done } =
    storage.snapshotChunk === undefined
      ? wholeDataChunk(snap, offset, r.cfg.maxSnapshotChunk)
      : storage.snapshotChunk(snap, offset, r.cfg.maxSnapshotChunk);
  r.send({ type: "snapshot", from: r.id, to, term: r.term, meta: snap.meta, offset, data, done });
  pr.snapshotResentAt = r.ticks;
}

function wholeDataChunk(snap: Snapshot, offset: number, maxBytes: number): SnapshotChunk {
  const end = Math.min(offset + maxBytes, snap.data.length);
  return { data: snap.data.subarray(offset, end), done: end === snap.data.length };
}

/** Advances the commit index to what a majority of voters persisted, if that entry is of this term (§5.4.2). */
export function maybeCommit(r: RaftState): boolean {
  const index = quorumIndex(r.membership.voters, r.matchOf);
  if (index <= r.log.committed || r.log.term(index) !== r.term) return false;
  r.log.commitTo(index);
  r.needBroadcast = true;
  return true;
}

export function sendTimeoutNow(r: RaftState, to: NodeId): void {
  r.send({ type: "timeoutNow", from: r.id, to, term: r.term });
}

/**
 * Tells a node that is no longer a member how far the log is committed, so that if it holds its
 * removal it applies it and knows it is out. `matched` is an index up to which its log is known
 * to match this leader's, so the commit it is given is one it can safely reach.
 */
export function sendFarewell(r: RaftState, to: number, matched: number): void {
  if (to === r.id) return;
  r.send({
    type: "heartbeat",
    from: r.id,
    to,
    term: r.term,
    commit: Math.min(matched, r.log.committed),
    cluster: r.leaderClusterMap(),
  });
}

/**
 * A node that is no longer a member asks for a pre-vote: it missed its removal (the entry, or the
 * commit of it). If its log matches this leader's at its last entry, send it the committed
 * entries after that, and the commit, so that it applies its removal and stops.
 */
export function sendFarewellEntries(r: RaftState, to: NodeId, lastIndex: number, lastTerm: number): void {
  // term() is undefined below the first retained index: a node that far behind gets nothing.
  if (to === r.id || r.log.term(lastIndex) !== lastTerm) return;
  const committed = r.log.committed;
  const entries = lastIndex < committed ? r.log.entries(lastIndex + 1, committed + 1, r.cfg.maxMsgBytes) : [];
  r.send({
    type: "append",
    from: r.id,
    to,
    term: r.term,
    index: lastIndex,
    logTerm: lastTerm,
    entries,
    commit: committed,
  });
}
