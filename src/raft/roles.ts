/** Transitions between follower, pre-candidate, candidate and leader. */
import { EntryKind, type NodeId } from "./log-types.ts";
import { Progress } from "./progress.ts";
import type { RaftState } from "./raft-state.ts";
import { appendLocal } from "./replication.ts";

function reset(r: RaftState, term: number): void {
  if (r.term !== term) {
    r.term = term;
    r.vote = 0;
  }
  r.leader = 0;
  r.electionElapsed = 0;
  r.heartbeatElapsed = 0;
  r.randomizedElectionTimeout = r.cfg.electionTicks + Math.floor(r.cfg.prng.next() * r.cfg.electionTicks);
  r.leadTransferee = 0;
  r.transferDeferredAt = Number.NEGATIVE_INFINITY;
  r.votes.clear();
  r.progress.clear();
  r.needBroadcast = false;
  r.clusterMap = undefined;
}

export function becomeFollower(r: RaftState, term: number, leader: NodeId): void {
  reset(r, term);
  r.leader = leader;
  r.role = "follower";
}

/** A pre-candidate asks whether it could win before it disturbs anyone's term (§9.6). */
export function becomePreCandidate(r: RaftState): void {
  r.role = "preCandidate";
  r.leader = 0;
  r.votes.clear();
}

export function becomeCandidate(r: RaftState): void {
  reset(r, r.term + 1);
  r.vote = r.id;
  r.role = "candidate";
}

export function becomeLeader(r: RaftState): void {
  reset(r, r.term);
  r.role = "leader";
  r.leader = r.id;
  const next = r.log.lastIndex() + 1;
  for (const id of [...r.membership.voters, ...r.membership.learners]) {
    r.progress.set(
      id,
      new Progress(next, r.cfg.maxInflight, r.membership.learners.includes(id), r.ticks, r.cfg.maxInflightBytes),
    );
  }
  const self = r.progress.get(r.id);
  if (self !== undefined) self.match = r.log.persistedLastIndex();
  // Entries of earlier terms commit only once an entry of this term does (§5.4.2); the no-op is
  // that entry. Until it is applied the log may hold unapplied config changes, so none may be proposed.
  r.pendingConfIndex = appendLocal(r, EntryKind.Normal, new Uint8Array(0));
}
