/** Entry point for every received message: term rules common to all roles, then the role's step. */
import { commitKnown, handleVoteRequest } from "./election.ts";
import { isMember } from "./membership.ts";
import type { Message } from "./messages.ts";
import type { RaftState } from "./raft-state.ts";
import { sendFarewellEntries } from "./replication.ts";
import { becomeFollower } from "./roles.ts";
import { stepCandidate } from "./step-candidate.ts";
import { stepFollower } from "./step-follower.ts";
import { stepLeader } from "./step-leader.ts";

export function step(r: RaftState, m: Message): void {
  if (m.type === "vote" || m.type === "preVote") r.askedToVoteAt = r.ticks;
  if (m.type === "preVote" && r.role === "leader" && !isMember(r.membership, m.from) && m.term <= r.term + 1) {
    // A pre-vote carries the term its sender would take, so the sender is at most at this term.
    sendFarewellEntries(r, m.from, m.lastIndex, m.lastTerm);
    return;
  }
  if (m.term > r.term) {
    if (m.type === "vote" || m.type === "preVote") {
      // Check-quorum lease: while this node hears from a leader, a node that merely timed out
      // (partitioned, or removed and unaware of it) must not unseat it.
      const inLease = r.cfg.checkQuorum && r.leader !== 0 && r.electionElapsed < r.cfg.electionTicks;
      if (inLease && !m.transfer) return;
    }
    if (m.type === "preVote" || (m.type === "preVoteResponse" && !m.reject)) {
      // A pre-vote and its grant carry the term the candidate would take; nobody adopts it yet.
    } else if (m.type === "append" || m.type === "heartbeat" || m.type === "snapshot") {
      becomeFollower(r, m.term, m.from);
    } else {
      becomeFollower(r, m.term, 0);
    }
  } else if (m.term < r.term) {
    if ((r.cfg.checkQuorum || r.cfg.preVote) && (m.type === "append" || m.type === "heartbeat")) {
      // A leader cut off by a partition may never see a higher term otherwise (pre-vote keeps
      // terms from rising); this answer tells it to step down.
      r.send({
        type: "appendResponse",
        from: r.id,
        to: m.from,
        term: r.term,
        index: 0,
        reject: false,
        hintIndex: 0,
        hintTerm: 0,
      });
    } else if (m.type === "preVote") {
      r.send({ type: "preVoteResponse", from: r.id, to: m.from, term: r.term, reject: true, ...commitKnown(r) });
    }
    return;
  }
  if (m.type === "vote" || m.type === "preVote") {
    handleVoteRequest(r, m);
    return;
  }
  switch (r.role) {
    case "leader":
      stepLeader(r, m);
      return;
    case "candidate":
    case "preCandidate":
      stepCandidate(r, m);
      return;
    case "follower":
      stepFollower(r, m);
      return;
  }
}
