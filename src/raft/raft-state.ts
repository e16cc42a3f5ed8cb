/**
 * Everything one Raft node knows in memory. The per-role step functions, replication and election
 * modules operate on it; RaftNode is the public face.
 */
import type { RaftConfig } from "./config.ts";
import type { HardState, Membership, NodeId } from "./log-types.ts";
import { isVoter } from "./membership.ts";
import type { ClusterMap, Message } from "./messages.ts";
import type { Progress } from "./progress.ts";
import type { RaftLog } from "./raft-log.ts";
import { type SnapshotChunkReceiver, SnapshotReceiver } from "./snapshot-receiver.ts";

export type Role = "follower" | "preCandidate" | "candidate" | "leader";

export interface MembershipAt {
  /** Index of the config entry (or snapshot) that produced `membership`. */
  index: number;
  membership: Membership;
}

export class RaftState {
  term = 0;
  vote: NodeId = 0;
  leader: NodeId = 0;
  role: Role = "follower";
  /** The configuration in force: the one produced by the last applied config entry. */
  membership: Membership;
  /** Every configuration since the last snapshot, oldest first, so a snapshot can record the one at its index. */
  membershipHistory: MembershipAt[];
  /** Leader only: one per member, this node included (its match counts only persisted entries). */
  readonly progress = new Map<NodeId, Progress>();
  readonly votes = new Map<NodeId, boolean>();
  msgs: Message[] = [];
  electionElapsed = 0;
  heartbeatElapsed = 0;
  randomizedElectionTimeout = 0;
  /** Ticks since start; the clock of Progress.lastHeard. */
  ticks = 0;
  leadTransferee: NodeId = 0;
  /**
   * The tick at which TimeoutNow came while a committed configuration change was not applied yet (election.ts): this
   * node campaigns once it has applied it, if that is within an election timeout of the request (apply.ts).
   */
  transferDeferredAt = Number.NEGATIVE_INFINITY;
  /**
   * Set while this node's log may lack entries it acknowledged (a repaired log that has not caught up): it neither
   * campaigns nor grants votes or pre-votes, so no election can count on entries it lost.
   */
  withholdVotes = false;
  /**
   * While votes are withheld: the highest (term, index) the lost log can have ended at, when known. The node then
   * grants a vote to a candidate at least as up to date as that, as it would have with the log it lost (§5.4.1);
   * unknown, it grants none.
   */
  voteFloor: { term: number; index: number } | undefined;
  /**
   * The tick of the last vote or pre-vote request. A node that applied its own removal stays while voters ask it: they
   * have not applied the removal, count it, and may need its vote to elect anyone (RaftNode.askedToVoteRecently).
   */
  askedToVoteAt = Number.NEGATIVE_INFINITY;
  /** A config change may be proposed only once everything up to here is applied (one change at a time). */
  pendingConfIndex = 0;
  /** The leader owes followers appends (new entries or commit index); sent when the next Ready is built. */
  needBroadcast = false;
  /** The cluster map from the latest heartbeat of the current leader. */
  clusterMap: ClusterMap | undefined;
  readonly snapshotReceiver: SnapshotChunkReceiver;

  constructor(
    readonly cfg: RaftConfig,
    readonly log: RaftLog,
    base: MembershipAt,
  ) {
    this.membership = base.membership;
    this.membershipHistory = [base];
    this.snapshotReceiver = cfg.snapshotReceiver ?? new SnapshotReceiver();
  }

  get id(): NodeId {
    return this.cfg.id;
  }

  send(m: Message): void {
    this.msgs.push(m);
  }

  hardState(): HardState {
    return { term: this.term, vote: this.vote, commit: this.log.committed };
  }

  /** Only a voter of the configuration in force may campaign. */
  promotable(): boolean {
    return isVoter(this.membership, this.id);
  }

  /** The leader's persisted match for each voter, for commit counting. */
  matchOf = (id: NodeId): number => this.progress.get(id)?.match ?? 0;

  reachable(id: NodeId): boolean {
    if (id === this.id) return true;
    const pr = this.progress.get(id);
    return pr !== undefined && this.ticks - pr.lastHeard <= this.cfg.electionTicks;
  }

  /** Leader only: the cluster map its heartbeats carry. */
  leaderClusterMap(): ClusterMap {
    return { membership: this.membership, reachable: [...this.progress.keys()].filter((id) => this.reachable(id)) };
  }
}
