/**
 * One Raft node, pure: it reads persisted state through a LogReader and takes time, messages and
 * proposals as calls. Its output is a Ready batch the driver persists, sends and applies before
 * calling advance(). One Ready is out at a time; calls in between are allowed.
 */
import { MqraftError } from "../util/errors.ts";
import { applied, replayMembership, snapshotApplied } from "./apply.ts";
import { type ConfChange, encodeConfChange } from "./conf-change.ts";
import { type RaftOptions, resolveConfig } from "./config.ts";
import { recordVote, tickElection, tickLeader } from "./election.ts";
import {
  EntryKind,
  type HardState,
  type LogReader,
  type Membership,
  type NodeId,
  type SnapshotMeta,
} from "./log-types.ts";
import { confChangeProblem, EMPTY_MEMBERSHIP } from "./membership.ts";
import type { Message } from "./messages.ts";
import { RaftLog } from "./raft-log.ts";
import { RaftState, type Role } from "./raft-state.ts";
import type { Ready } from "./ready.ts";
import { appendLocal, broadcastAppend, maybeCommit, sendAppends, sendTimeoutNow } from "./replication.ts";
import { becomeFollower } from "./roles.ts";
import { type RaftStatus, statusOf } from "./status.ts";
import { step } from "./step.ts";

export interface Proposed {
  index: number;
  term: number;
}

const NO_HARD_STATE: HardState = { term: 0, vote: 0, commit: 0 };
/** A voter that campaigns asks again at least once per longest election timeout; a few missed requests are loss. */
const ASKED_RECENTLY_TIMEOUTS = 3;

export class RaftNode {
  private readonly r: RaftState;
  private persisted: HardState;
  private outstanding: Ready | undefined;

  /** `hardState` is the last one persisted (none for a new node). */
  constructor(options: RaftOptions, storage: LogReader, hardState: HardState = NO_HARD_STATE) {
    const cfg = resolveConfig(options);
    const snap = storage.snapshot();
    const snapIndex = snap?.meta.index ?? 0;
    const appliedIndex = cfg.applied ?? snapIndex;
    if (appliedIndex < snapIndex) {
      throw new MqraftError("BAD_CONFIG", `applied index ${appliedIndex} is below the snapshot's ${snapIndex}`);
    }
    const log = new RaftLog(storage, hardState.commit, appliedIndex);
    this.r = new RaftState(cfg, log, { index: snapIndex, membership: snap?.meta.membership ?? EMPTY_MEMBERSHIP });
    replayMembership(this.r, snapIndex, appliedIndex);
    this.r.term = hardState.term;
    this.r.vote = hardState.vote;
    becomeFollower(this.r, hardState.term, 0);
    this.persisted = hardState;
  }

  /** Advances logical time by one tick (elections, heartbeats, check-quorum). */
  tick(): void {
    this.r.ticks++;
    if (this.r.role === "leader") tickLeader(this.r);
    else tickElection(this.r);
  }

  step(m: Message): void {
    if (m.to === this.r.id) step(this.r, m);
  }

  /** Appends `data` as a new entry; it is committed once it shows up in a Ready's `committed`. */
  propose(data: Uint8Array): Proposed {
    if (data.length === 0)
      throw new MqraftError("BAD_USAGE", "a proposal must carry data (empty entries are the leader's no-ops)");
    this.mustLead();
    return { index: appendLocal(this.r, EntryKind.Normal, data), term: this.r.term };
  }

  /** Proposes one membership change; it takes effect on each node when that node applies it. */
  proposeConfChange(cc: ConfChange): Proposed {
    this.mustLead();
    const r = this.r;
    if (r.pendingConfIndex > r.log.applied) {
      throw new MqraftError("REFUSED", `a configuration change (index ${r.pendingConfIndex}) is not applied yet`);
    }
    const problem = confChangeProblem(r.membership, cc);
    if (problem !== undefined) throw new MqraftError("REFUSED", `cannot ${cc.op}: ${problem}`);
    r.pendingConfIndex = appendLocal(r, EntryKind.Config, encodeConfChange(cc));
    return { index: r.pendingConfIndex, term: r.term };
  }

  /** Whether a configuration change is proposed and not yet applied (a new one would be refused). */
  get confChangePending(): boolean {
    return this.r.pendingConfIndex > this.r.log.applied;
  }

  /**
   * Hands leadership to voter `to`: it is brought up to date, then told to campaign at once.
   * Proposals are refused until it takes over or an election timeout passes.
   */
  transferLeadership(to: NodeId): void {
    const r = this.r;
    if (r.role !== "leader") throw this.notLeader();
    if (to === r.id || to === r.leadTransferee) return;
    const pr = r.progress.get(to);
    if (pr === undefined || pr.learner) throw new MqraftError("REFUSED", `node ${to} is not a voter`);
    r.leadTransferee = to;
    r.electionElapsed = 0;
    if (pr.match === r.log.lastIndex()) sendTimeoutNow(r, to);
    else sendAppends(r, to, pr, true);
  }

  /**
   * The metadata of a snapshot of the application's state at `index` (at most the applied index),
   * for the driver to save with the state's bytes; it may then drop log entries up to any index at
   * or below it.
   */
  compact(index: number): SnapshotMeta {
    const r = this.r;
    const current = r.log.storage.snapshot()?.meta.index ?? 0;
    if (index > r.log.applied || index <= current) {
      throw new MqraftError(
        "BAD_USAGE",
        `snapshot index ${index} must be in (${current}, ${r.log.applied}] (saved, applied]`,
      );
    }
    // Applied entries are persisted, so storage has the term even while a snapshot received from
    // the leader (not yet written) hides the older log from r.log.
    const term = r.log.storage.term(index);
    if (term === undefined) throw new MqraftError("BAD_USAGE", `entry ${index} is no longer in the log`);
    const history = r.membershipHistory;
    let at = 0;
    while (at + 1 < history.length && (history[at + 1]?.index ?? Infinity) <= index) at++;
    r.membershipHistory = history.slice(at);
    const membership = (history[at] as { membership: Membership }).membership;
    return { index, term, membership };
  }

  hasReady(): boolean {
    if (this.outstanding !== undefined) return false;
    const r = this.r;
    const unstable = r.log.unstable;
    return (
      r.msgs.length > 0 ||
      (r.needBroadcast && r.role === "leader") ||
      unstable.entries.length > 0 ||
      unstable.snapshot !== undefined ||
      r.log.hasNextCommitted() ||
      this.hardStateChanged()
    );
  }

  ready(): Ready {
    if (this.outstanding !== undefined)
      throw new MqraftError("INTERNAL", "ready() called before advance() of the previous Ready");
    const r = this.r;
    if (r.needBroadcast && r.role === "leader") broadcastAppend(r);
    r.needBroadcast = false;
    const rd: Ready = {
      hardState: this.hardStateChanged() ? r.hardState() : undefined,
      entries: r.log.unstable.entries.slice(),
      snapshot: r.log.unstable.snapshot,
      messages: r.msgs,
      committed: r.log.nextCommitted(r.cfg.maxMsgBytes),
    };
    r.msgs = [];
    this.outstanding = rd;
    return rd;
  }

  /**
   * The driver persisted, sent and applied everything in `rd`. A leader's driver may hand over its entries before
   * they are on its disk (`durable` false: written, the fsync still running) and report them with `persistedTo()`
   * once they are; until then they count toward commit only on the followers that acknowledged them.
   */
  advance(rd: Ready, durable = true): void {
    if (rd !== this.outstanding)
      throw new MqraftError("INTERNAL", "advance() of a Ready that is not the outstanding one");
    this.outstanding = undefined;
    const r = this.r;
    if (rd.snapshot !== undefined) {
      r.log.unstable.stableSnapshotTo(rd.snapshot.meta.index);
      snapshotApplied(r, rd.snapshot);
    }
    const last = rd.entries.at(-1);
    if (last !== undefined && r.log.unstable.stableTo(last.index, last.term) && r.role === "leader" && durable) {
      // The leader counts its own entries toward commit only once they are on its disk.
      r.progress.get(r.id)?.maybeUpdate(last.index);
      maybeCommit(r);
    }
    if (rd.hardState !== undefined) {
      this.persisted = rd.hardState;
      if (r.role === "candidate" && rd.hardState.term === r.term && rd.hardState.vote === r.id)
        recordVote(r, r.id, true);
    }
    applied(r, rd.committed);
  }

  /**
   * The leader's entries up to `index`, of its term `term`, handed over by `advance(rd, false)`, are on its disk now:
   * they count toward commit. Nothing happens if this node no longer leads in that term.
   */
  persistedTo(index: number, term: number): void {
    const r = this.r;
    if (r.role !== "leader" || r.term !== term || r.log.term(index) !== term) return;
    r.progress.get(r.id)?.maybeUpdate(index);
    maybeCommit(r);
  }

  status(): RaftStatus {
    return statusOf(this.r);
  }

  get id(): NodeId {
    return this.r.id;
  }
  get role(): Role {
    return this.r.role;
  }
  get term(): number {
    return this.r.term;
  }
  get leader(): NodeId {
    return this.r.leader;
  }
  get commitIndex(): number {
    return this.r.log.committed;
  }
  get appliedIndex(): number {
    return this.r.log.applied;
  }
  get membership(): Membership {
    return this.r.membership;
  }
  /** Whether this node refuses to campaign and to grant votes (its log may lack entries it acknowledged). */
  get withholdVotes(): boolean {
    return this.r.withholdVotes;
  }
  set withholdVotes(withhold: boolean) {
    this.r.withholdVotes = withhold;
  }
  /** While votes are withheld: the last (term, index) the lost log can have had; votes go to candidates past it. */
  get voteFloor(): { term: number; index: number } | undefined {
    return this.r.voteFloor;
  }
  set voteFloor(floor: { term: number; index: number } | undefined) {
    this.r.voteFloor = floor;
  }
  /**
   * Whether a vote or pre-vote request came within the last ASKED_RECENTLY_TIMEOUTS longest election timeouts. A voter
   * that has not applied a removal still counts the removed node, and with another voter down it cannot win without
   * that node's vote: a removed node keeps running (answering votes and appends, never campaigning) while it is asked.
   */
  get askedToVoteRecently(): boolean {
    return this.r.ticks - this.r.askedToVoteAt < ASKED_RECENTLY_TIMEOUTS * 2 * this.r.cfg.electionTicks;
  }
  /** The index of the configuration entry (or snapshot) that produced the configuration in force. */
  get membershipIndex(): number {
    return this.r.membershipHistory.at(-1)?.index ?? 0;
  }
  lastIndex(): number {
    return this.r.log.lastIndex();
  }
  /** Term of the entry at `index` in this node's log (unstable tail included), if held. */
  termAt(index: number): number | undefined {
    return this.r.log.term(index);
  }

  private hardStateChanged(): boolean {
    const p = this.persisted;
    const r = this.r;
    return p.term !== r.term || p.vote !== r.vote || p.commit !== r.log.committed;
  }

  private mustLead(): void {
    if (this.r.role !== "leader") throw this.notLeader();
    if (this.r.leadTransferee !== 0) {
      // Transient: the client retries, and finds the new leader in a moment.
      throw new MqraftError("UNAVAILABLE", `leadership is being transferred to node ${this.r.leadTransferee}`);
    }
  }

  private notLeader(): MqraftError {
    const leader = this.r.leader;
    return new MqraftError("NOT_LEADER", leader === 0 ? "no leader is known" : `node ${leader} is the leader`);
  }
}
