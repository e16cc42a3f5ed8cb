/** Timeouts, campaigns and votes (§5.2), with pre-vote (§9.6) and check-quorum (§6.2). */
import { EntryKind, type NodeId } from "./log-types.ts";
import type { VoteRequest, VoteResponse } from "./messages.ts";
import { majority, voteOutcome } from "./quorum.ts";
import type { RaftState } from "./raft-state.ts";
import { broadcastHeartbeat } from "./replication.ts";
import { becomeCandidate, becomeFollower, becomeLeader, becomePreCandidate } from "./roles.ts";

export function tickElection(r: RaftState): void {
  r.electionElapsed++;
  // The only voter has nobody to wait for: a one-broker cluster leads at its first tick, not after a timeout.
  const alone = r.membership.voters.length === 1 && r.membership.voters[0] === r.id;
  if (r.promotable() && (alone || r.electionElapsed >= r.randomizedElectionTimeout)) {
    r.electionElapsed = 0;
    hup(r, false);
  }
}

export function tickLeader(r: RaftState): void {
  r.heartbeatElapsed++;
  r.electionElapsed++;
  if (r.electionElapsed >= r.cfg.electionTicks) {
    r.electionElapsed = 0;
    if (r.cfg.checkQuorum && !quorumReachable(r)) {
      becomeFollower(r, r.term, 0);
      return;
    }
    // A transfer that did not finish within an election timeout has failed; take proposals again.
    r.leadTransferee = 0;
  }
  if (r.heartbeatElapsed >= r.cfg.heartbeatTicks) {
    r.heartbeatElapsed = 0;
    broadcastHeartbeat(r);
  }
}

function quorumReachable(r: RaftState): boolean {
  const voters = r.membership.voters;
  return voters.filter((id) => r.reachable(id)).length >= majority(voters.length);
}

/** Starts an election if this node may: `transfer` skips the pre-vote and overrides voters' leases. */
export function hup(r: RaftState, transfer: boolean): void {
  if (r.role === "leader" || !r.promotable() || r.log.unstable.snapshot !== undefined || r.withholdVotes) return;
  commitConfigsFollowed(r);
  // Votes are counted with the configuration in force; one that is committed but not yet applied
  // could be more than one change behind the cluster's, and its majorities would not overlap.
  if (hasUnappliedConfChange(r)) {
    // A removed leader sends its heir the commit of its removal, then TimeoutNow: a driver often steps both before it
    // applies that commit. The transfer waits for the apply instead of being lost (resumeDeferredTransfer).
    if (transfer) r.transferDeferredAt = r.ticks;
    return;
  }
  if (r.cfg.preVote && !transfer) preCampaign(r);
  else campaign(r, transfer);
}

/** After entries are applied: the campaign a TimeoutNow asked for while a configuration change waited (see hup). */
export function resumeDeferredTransfer(r: RaftState): void {
  const at = r.transferDeferredAt;
  if (at === Number.NEGATIVE_INFINITY || hasUnappliedConfChange(r)) return;
  r.transferDeferredAt = Number.NEGATIVE_INFINITY;
  // Past an election timeout the leader gave up on the transfer and took proposals again: do not unseat it.
  if (r.ticks - at < r.cfg.electionTicks) hup(r, true);
}

/**
 * Commits what this node's log shows committed by itself: a leader proposes a configuration change only once it has
 * applied every earlier one (pendingConfIndex), so a configuration entry followed by another in a log is committed.
 * A restart can find both in the log with a saved commit index below them (the driver syncs entries and hard state
 * in parallel, and a kill can land between), and counting votes with the configuration before both would be two
 * single-server changes behind the cluster's, whose majorities need not overlap. Once committed, hup waits for them
 * to be applied, and counts with the configuration one change behind at most, as after any append.
 */
function commitConfigsFollowed(r: RaftState): void {
  let last = 0;
  let beforeLast = 0;
  const hi = r.log.lastIndex() + 1;
  for (let lo = Math.max(r.log.committed + 1, r.log.firstIndex()); lo < hi; ) {
    const batch = r.log.entries(lo, hi, r.cfg.maxMsgBytes);
    for (const e of batch) {
      if (e.kind !== EntryKind.Config) continue;
      beforeLast = last;
      last = e.index;
    }
    lo += batch.length;
  }
  r.log.commitTo(beforeLast);
}

function hasUnappliedConfChange(r: RaftState): boolean {
  let lo = Math.max(r.log.applied + 1, r.log.firstIndex());
  const hi = r.log.committed + 1;
  while (lo < hi) {
    const batch = r.log.entries(lo, hi, r.cfg.maxMsgBytes);
    if (batch.some((e) => e.kind === EntryKind.Config)) return true;
    lo += batch.length;
  }
  return false;
}

function preCampaign(r: RaftState): void {
  becomePreCandidate(r);
  if (recordVote(r, r.id, true)) requestVotes(r, "preVote", r.term + 1, false);
}

function campaign(r: RaftState, transfer: boolean): void {
  becomeCandidate(r);
  // The candidate's own vote is counted once it is persisted (RaftNode.advance).
  requestVotes(r, "vote", r.term, transfer);
}

function requestVotes(r: RaftState, type: VoteRequest["type"], term: number, transfer: boolean): void {
  const lastIndex = r.log.lastIndex();
  const lastTerm = r.log.lastTerm();
  const commit = commitKnown(r);
  for (const to of r.membership.voters) {
    if (to !== r.id) r.send({ type, from: r.id, to, term, lastIndex, lastTerm, transfer, ...commit });
  }
}

/** Counts a (pre-)vote and acts on the outcome; true while the election is still open. */
export function recordVote(r: RaftState, from: NodeId, granted: boolean): boolean {
  if (!r.votes.has(from)) r.votes.set(from, granted);
  switch (voteOutcome(r.membership.voters, r.votes)) {
    case "won":
      if (r.role === "preCandidate") campaign(r, false);
      else becomeLeader(r);
      return false;
    case "lost":
      becomeFollower(r, r.term, 0);
      return false;
    case "pending":
      return true;
  }
}

export function handleVoteRequest(r: RaftState, m: VoteRequest): void {
  // as a candidate learning it from an answer (learnCommit): a configuration change now committed is applied first
  const campaigning = r.role === "candidate" || r.role === "preCandidate";
  if (commitFrom(r, m) && campaigning && hasUnappliedConfChange(r)) becomeFollower(r, r.term, 0);
  const type = m.type === "vote" ? "voteResponse" : "preVoteResponse";
  const canVote = r.vote === m.from || (r.vote === 0 && r.leader === 0) || (m.type === "preVote" && m.term > r.term);
  if (canVote && votesAllowed(r, m) && r.log.isUpToDate(m.lastIndex, m.lastTerm)) {
    r.send({ type, from: r.id, to: m.from, term: m.term, reject: false, ...commitKnown(r) });
    if (m.type === "vote") {
      r.electionElapsed = 0;
      r.vote = m.from;
    }
  } else {
    r.send({ type, from: r.id, to: m.from, term: r.term, reject: true, ...commitKnown(r) });
  }
}

/**
 * A node whose log may lack entries it acknowledged votes only for a candidate at least as up to date as the log it
 * lost: the election restriction then protects every entry that log held, as if it were still there.
 */
function votesAllowed(r: RaftState, m: VoteRequest): boolean {
  if (!r.withholdVotes) return true;
  const floor = r.voteFloor;
  return floor !== undefined && (m.lastTerm > floor.term || (m.lastTerm === floor.term && m.lastIndex >= floor.index));
}

/**
 * Commits up to the commit index another node reports (a vote request or answer) when this log holds its entry there:
 * the reporter's log up to it was committed, and Log Matching makes this log's the same up to it. True when it moved.
 */
function commitFrom(r: RaftState, m: { commit?: number; commitTerm?: number }): boolean {
  if (m.commit === undefined || m.commit <= r.log.committed) return false;
  if (m.commit > r.log.lastIndex() || r.log.term(m.commit) !== m.commitTerm) return false;
  r.log.commitTo(m.commit);
  return true;
}

/** How far this node knows the log is committed, for a vote request or response (VoteResponse.commit). */
export function commitKnown(r: RaftState): { commit: number; commitTerm: number } | Record<string, never> {
  const commit = r.log.committed;
  const commitTerm = r.log.term(commit);
  return commitTerm === undefined ? {} : { commit, commitTerm };
}

/**
 * A voter's commit index, if this log holds its entry there: the log up to it is the voter's, all committed. True when
 * that commits a configuration change this node has not applied: it then stands down (its vote kept), since votes are
 * counted with the configuration in force and this one may now be more than a change behind (see hup); it campaigns
 * again once it has applied the change.
 */
export function learnCommit(r: RaftState, m: VoteResponse): boolean {
  if (!commitFrom(r, m) || !hasUnappliedConfChange(r)) return false;
  becomeFollower(r, r.term, 0);
  return true;
}
