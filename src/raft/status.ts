/** A read-only picture of one node, for status commands, tests and the simulator. */
import type { Membership, NodeId } from "./log-types.ts";
import type { ClusterMap } from "./messages.ts";
import type { ProgressState } from "./progress.ts";
import type { RaftState, Role } from "./raft-state.ts";

export interface PeerStatus {
  id: NodeId;
  learner: boolean;
  match: number;
  next: number;
  state: ProgressState;
  reachable: boolean;
}

export interface RaftStatus {
  id: NodeId;
  role: Role;
  term: number;
  vote: NodeId;
  /** 0 when no leader is known. */
  leader: NodeId;
  commit: number;
  applied: number;
  firstIndex: number;
  lastIndex: number;
  /** The term of the last entry (the log's place in the election order, §5.4.1). */
  lastTerm: number;
  /** The configuration in force on this node (as of its applied index). */
  membership: Membership;
  /** The leader's cluster map: computed on the leader, from its last heartbeat elsewhere. */
  cluster: ClusterMap | undefined;
  /** Leader only: one entry per other member. */
  peers: PeerStatus[];
  leadTransferee: NodeId;
}

export function statusOf(r: RaftState): RaftStatus {
  const leading = r.role === "leader";
  const peers: PeerStatus[] = [];
  if (leading) {
    for (const [id, pr] of r.progress) {
      if (id === r.id) continue;
      peers.push({
        id,
        learner: pr.learner,
        match: pr.match,
        next: pr.next,
        state: pr.state,
        reachable: r.reachable(id),
      });
    }
  }
  const cluster = leading ? r.leaderClusterMap() : r.clusterMap;
  return {
    id: r.id,
    role: r.role,
    term: r.term,
    vote: r.vote,
    leader: r.leader,
    commit: r.log.committed,
    applied: r.log.applied,
    firstIndex: r.log.firstIndex(),
    lastIndex: r.log.lastIndex(),
    lastTerm: r.log.lastTerm(),
    membership: r.membership,
    cluster,
    peers,
    leadTransferee: r.leadTransferee,
  };
}
