/** Step for followers: accept the leader's entries, commit index and snapshots. */
import { hup } from "./election.ts";
import type { Snapshot } from "./log-types.ts";
import type { AppendMessage, HeartbeatMessage, Message, SnapshotMessage } from "./messages.ts";
import type { RaftState } from "./raft-state.ts";

export function stepFollower(r: RaftState, m: Message): void {
  switch (m.type) {
    case "append":
      heardFromLeader(r, m.from);
      handleAppend(r, m);
      return;
    case "heartbeat":
      heardFromLeader(r, m.from);
      handleHeartbeat(r, m);
      return;
    case "snapshot":
      heardFromLeader(r, m.from);
      handleSnapshot(r, m);
      return;
    case "timeoutNow":
      hup(r, true);
      return;
    case "appendResponse":
    case "heartbeatResponse":
    case "snapshotResponse":
    case "voteResponse":
    case "preVoteResponse":
    case "vote":
    case "preVote":
      return;
  }
}

function heardFromLeader(r: RaftState, leader: number): void {
  r.electionElapsed = 0;
  r.leader = leader;
}

function accept(r: RaftState, to: number, index: number): void {
  r.send({ type: "appendResponse", from: r.id, to, term: r.term, index, reject: false, hintIndex: 0, hintTerm: 0 });
}

function handleAppend(r: RaftState, m: AppendMessage): void {
  // Everything up to the commit index is already known to match the leader's log.
  if (m.index < r.log.committed) {
    accept(r, m.from, r.log.committed);
    return;
  }
  const last = r.log.maybeAppend(m.index, m.logTerm, m.commit, m.entries);
  if (last !== undefined) {
    accept(r, m.from, last);
    return;
  }
  const [hintIndex, hintTerm] = r.log.findConflictByTerm(Math.min(m.index, r.log.lastIndex()), m.logTerm);
  r.send({
    type: "appendResponse",
    from: r.id,
    to: m.from,
    term: r.term,
    index: m.index,
    reject: true,
    hintIndex,
    hintTerm,
  });
}

function handleHeartbeat(r: RaftState, m: HeartbeatMessage): void {
  const last = r.log.lastIndex();
  if (m.commit > last) {
    // The leader believes this node holds more than it does: its log was cut by a repair after
    // corruption. Say where it really ends, so the leader lowers its match and resends.
    r.log.commitTo(last);
    r.clusterMap = m.cluster;
    r.send({
      type: "appendResponse",
      from: r.id,
      to: m.from,
      term: r.term,
      index: m.commit,
      reject: true,
      hintIndex: last,
      hintTerm: 0,
    });
    return;
  }
  r.log.commitTo(m.commit);
  r.clusterMap = m.cluster;
  // The leader knows less of this log than is committed here (the answer to a snapshot's last chunk, or to appends,
  // was lost): say so, as an append below the commit index is answered, or a leader still sending a snapshot waits out
  // its resend timer. Entries up to the commit index match every leader's log. The heartbeat's own answer goes too: it
  // is what lets a leader probe again (a new leader's commit may lag this one, and then the acknowledgement is old news).
  if (m.commit < r.log.committed) accept(r, m.from, r.log.committed);
  r.send({ type: "heartbeatResponse", from: r.id, to: m.from, term: r.term });
}

function handleSnapshot(r: RaftState, m: SnapshotMessage): void {
  if (m.meta.index <= r.log.committed) {
    r.snapshotReceiver.reset();
    accept(r, m.from, r.log.committed);
    return;
  }
  const got = r.snapshotReceiver.accept(m);
  if (typeof got === "number") {
    r.send({ type: "snapshotResponse", from: r.id, to: m.from, term: r.term, index: m.meta.index, offset: got });
    return;
  }
  accept(r, m.from, restore(r, got));
}

/**
 * Adopts a complete snapshot, unless the log already holds its last entry (then only commit moves).
 * Returns the index known to match the leader's log: the snapshot's last index after a restore, the
 * commit index after a fast-forward (as etcd does). The entries after it were never compared with the
 * leader's, so acknowledging the whole log would let the leader count entries that may differ.
 */
function restore(r: RaftState, snap: Snapshot): number {
  if (r.log.matchTerm(snap.meta.index, snap.meta.term)) {
    r.log.commitTo(snap.meta.index);
    return r.log.committed;
  }
  r.log.restore(snap);
  return r.log.lastIndex();
}
