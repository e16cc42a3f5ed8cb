import { learnCommit, recordVote } from "./election.ts";
import type { Message } from "./messages.ts";
import type { RaftState } from "./raft-state.ts";
import { becomeFollower } from "./roles.ts";
import { stepFollower } from "./step-follower.ts";

/** Step for candidates and pre-candidates; `m.term` is at least the node's term. */
export function stepCandidate(r: RaftState, m: Message): void {
  switch (m.type) {
    case "append":
    case "heartbeat":
    case "snapshot":
      // A leader exists in this term (or a later one): stand down and follow it.
      becomeFollower(r, m.term, m.from);
      stepFollower(r, m);
      return;
    case "preVoteResponse":
      if (!learnCommit(r, m) && r.role === "preCandidate") recordVote(r, m.from, !m.reject);
      return;
    case "voteResponse":
      if (!learnCommit(r, m) && r.role === "candidate") recordVote(r, m.from, !m.reject);
      return;
    case "appendResponse":
    case "heartbeatResponse":
    case "snapshotResponse":
    case "timeoutNow":
    case "vote":
    case "preVote":
      return;
  }
}
