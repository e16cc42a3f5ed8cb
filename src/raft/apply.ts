/**
 * What the core does once the application has applied committed entries: configuration changes
 * take effect (Raft dissertation §4, applied rather than appended, as in etcd).
 */

import { assert } from "../util/assert.ts";
import { decodeConfChange } from "./conf-change.ts";
import { resumeDeferredTransfer } from "./election.ts";
import { type Entry, EntryKind, type Membership, type Snapshot } from "./log-types.ts";
import { applyConfChange, isMember } from "./membership.ts";
import { Progress } from "./progress.ts";
import type { RaftState } from "./raft-state.ts";
import { broadcastHeartbeat, maybeCommit, sendFarewell, sendTimeoutNow } from "./replication.ts";
import { becomeFollower } from "./roles.ts";

export function applied(r: RaftState, entries: Entry[]): void {
  for (const e of entries) {
    // Applied rises one entry at a time, never past the commit index: a gap or a repeat is a bug.
    assert(e.index === r.log.applied + 1 && e.index <= r.log.committed, () => {
      return `applied entry ${e.index} after ${r.log.applied} (commit ${r.log.committed})`;
    });
    if (e.kind === EntryKind.Config) applyConfigEntry(r, e);
    r.log.applied = e.index;
  }
  if (entries.length > 0) resumeDeferredTransfer(r);
}

export function snapshotApplied(r: RaftState, snap: Snapshot): void {
  assert(snap.meta.index > r.log.applied, () => `snapshot at ${snap.meta.index} over applied ${r.log.applied}`);
  r.log.applied = snap.meta.index;
  r.membership = snap.meta.membership;
  r.membershipHistory = [{ index: snap.meta.index, membership: snap.meta.membership }];
}

/** Replays the config entries in (from, to] at start-up, to rebuild the configuration in force. */
export function replayMembership(r: RaftState, from: number, to: number): void {
  let lo = from + 1;
  while (lo <= to) {
    const batch = r.log.entries(lo, to + 1, r.cfg.maxMsgBytes);
    for (const e of batch) {
      if (e.kind === EntryKind.Config)
        setMembership(r, e.index, applyConfChange(r.membership, decodeConfChange(e.data)));
    }
    lo += batch.length;
  }
}

function setMembership(r: RaftState, index: number, m: Membership): void {
  if (m === r.membership) return;
  r.membership = m;
  r.membershipHistory.push({ index, membership: m });
}

function applyConfigEntry(r: RaftState, e: Entry): void {
  const before = r.membership;
  setMembership(r, e.index, applyConfChange(before, decodeConfChange(e.data)));
  if (r.membership === before || r.role !== "leader") return;
  const m = r.membership;
  for (const id of [...m.voters, ...m.learners]) {
    const pr = r.progress.get(id);
    if (pr === undefined)
      r.progress.set(
        id,
        new Progress(
          r.log.lastIndex() + 1,
          r.cfg.maxInflight,
          m.learners.includes(id),
          r.ticks,
          r.cfg.maxInflightBytes,
        ),
      );
    else pr.learner = m.learners.includes(id);
  }
  for (const [id, pr] of r.progress) {
    if (isMember(m, id)) continue;
    sendFarewell(r, id, pr.match);
    r.progress.delete(id);
  }
  if (!isMember(m, r.leadTransferee)) r.leadTransferee = 0;
  if (!isMember(m, r.id)) {
    stepDownRemoved(r);
    return;
  }
  maybeCommit(r);
  r.needBroadcast = true;
}

/**
 * A leader that applied its own removal tells the others how far the log is committed, hands over to an up-to-date
 * voter, if any, and steps down. Until the others apply the removal they count votes with a configuration in which
 * this node still votes, and it is about to leave for good: heartbeats carry the commit even when a full window holds
 * back the appends that would.
 */
function stepDownRemoved(r: RaftState): void {
  broadcastHeartbeat(r);
  const last = r.log.lastIndex();
  const heir = r.membership.voters.find((id) => r.progress.get(id)?.match === last);
  if (heir !== undefined) sendTimeoutNow(r, heir);
  becomeFollower(r, r.term, 0);
}
