/**
 * What a broker does about membership by itself, inside the broker assembly so that the simulator runs it as
 * production does: as leader, every tick, it promotes a learner that caught up and (with --remove-dead-after) removes
 * a member unreachable too long; and when it applied its own removal, it stops once that removal is the last word.
 * Joins, leaves and transfers asked by an operator go through the same MembershipService.
 */
import { decodeConfChange, type Entry, type NodeId } from "../raft/index.ts";
import type { Logger } from "../util/log.ts";
import type { Clock } from "./clock.ts";
import { MembershipService } from "./membership-service.ts";
import type { PendingProposals } from "./pending-proposals.ts";
import type { RaftDriver } from "./raft-driver.ts";

export interface MembershipDutiesOptions {
  id: NodeId;
  driver: () => RaftDriver;
  pending: PendingProposals;
  log: Logger;
  clock: Clock;
  electionMs: number;
  /** Whether the link to a peer is up (a transfer to a peer that went away ends at once); all up when absent. */
  isConnected?: (id: NodeId) => boolean;
  /** --remove-dead-after in ms; off when undefined. */
  removeDeadAfterMs?: number;
  /** This broker was removed and that is the last word: the process stops (production) or the machine retires. */
  removed?: () => void;
  /**
   * The last index of the log as this run found it on disk: a configuration entry up to it is history a rejoin replays,
   * one after it was decided while this run asks to join (0 when absent: an empty folder).
   */
  historyEnd?: number;
}

export class MembershipDuties {
  readonly service: MembershipService;
  /**
   * Set by `mqraft join` while it asks to be added again: an old removal in the replayed log is then not the end, unless
   * this run's own addition came before it (joinedThisRun).
   */
  rejoining = false;
  private stopping = false;
  private addedThisRun = false;

  constructor(private readonly o: MembershipDutiesOptions) {
    this.service = new MembershipService(
      o.driver,
      o.pending,
      o.log,
      o.electionMs,
      (id) => o.isConnected?.(id) ?? true,
      o.clock,
    );
  }

  /** Every tick. */
  tick(): void {
    this.service.promoteCaughtUpLearners();
    this.service.removeDeadMembers(this.o.removeDeadAfterMs, this.o.clock.now());
  }

  /** Whether this broker's applied configuration counts it as a voter or learner. */
  get isMember(): boolean {
    const { voters, learners } = this.o.driver().raft.membership;
    return voters.includes(this.o.id) || learners.includes(this.o.id);
  }

  /**
   * Whether this broker applied its own addition from beyond the history it started with: the cluster accepted this
   * run's join, even if the answer to it was lost, and a removal after it is the operator's last word, however quickly
   * it followed (a joiner that applies its addition, promotion and removal in one batch is never seen as a member).
   */
  get joinedThisRun(): boolean {
    return this.addedThisRun;
  }

  /** A configuration entry this broker applied: logged, and its own removal may be the end. */
  configApplied(entry: Entry): void {
    const cc = decodeConfChange(entry.data);
    const { log } = this.o;
    if (cc.op === "addLearner" && cc.id === this.o.id && entry.index > (this.o.historyEnd ?? 0))
      this.addedThisRun = true;
    // Term 1 holds the founding configuration every new cluster writes; it is not news.
    if (entry.term === 1) log.debug(`Founding member: ${JSON.stringify(cc)}`);
    else if (cc.op === "addLearner") log.info(`New node joins the cluster: node ${cc.id} at ${cc.address} (learner)`);
    else if (cc.op === "promote") log.info(`Node ${cc.id} is now a voter`);
    else log.info(`Node ${cc.id} left the cluster`);
    // A removal of this broker may be old history that a rejoin replays before its new addLearner:
    // decide only once the entries that follow have been applied.
    if (cc.op === "remove" && cc.id === this.o.id) this.stopIfStillRemoved();
  }

  /** No removal is acted on any more (the broker is stopping). */
  stop(): void {
    this.stopping = true;
  }

  /**
   * Stops once the removal of this broker is the last word: it is not a member, has applied everything it was told
   * is committed, and no voter asked for its vote lately. A voter that has not applied the removal counts this broker,
   * and with one other voter down (or repaired, withholding its vote) it can win only with this broker's vote: leaving
   * would stop the cluster for good (docs/storage.md, "Leaving"). A rejoin that replays a long log still has its new
   * addLearner to come, however long that takes.
   */
  private stopIfStillRemoved(): void {
    this.o.clock.after(this.o.electionMs, () => {
      const raft = this.o.driver().raft;
      if (this.isMember || this.stopping) return;
      const replayed = this.rejoining && !this.addedThisRun;
      if (replayed || raft.appliedIndex < raft.commitIndex || raft.askedToVoteRecently)
        return this.stopIfStillRemoved();
      this.stopping = true;
      this.o.log.info('Removed from the cluster; stopping (use "mqraft join" to come back)');
      this.o.removed?.();
    });
  }
}
