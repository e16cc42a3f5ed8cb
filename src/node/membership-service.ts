import type { ConfChange, Proposed } from "../raft/index.ts";
import { MqraftError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import type { Clock } from "./clock.ts";
import type { PendingProposals } from "./pending-proposals.ts";
import type { RaftDriver } from "./raft-driver.ts";

/** A learner within this many entries of the leader's log is promoted to voter. */
const PROMOTE_WITHIN = 64;
/** How often a wait for the core (a peer caught up, a transfer done, the previous change applied) looks again. */
const POLL_MS = 10;

/**
 * Join, leave and leadership transfer on the leader: each is one single-server configuration
 * change through the Raft log (learner first, voter once caught up), answered once committed.
 */
export class MembershipService {
  constructor(
    private readonly driver: () => RaftDriver,
    private readonly pending: PendingProposals,
    private readonly log: Logger,
    private readonly electionMs: number,
    /** Whether this broker's link to a peer is up: a transfer to a peer that went away (it is stopping too) ends at once. */
    private readonly isConnected: (id: number) => boolean,
    /** The assembly's clock: the simulator runs these waits on its own time. */
    private readonly clock: Clock,
  ) {}

  private now(): number {
    return this.clock.monotonic?.() ?? this.clock.now();
  }

  private pause(): Promise<void> {
    return new Promise((resolve) => this.clock.after(POLL_MS, resolve));
  }

  join(nodeId: number, address: string): Promise<void> {
    const raft = this.driver().raft;
    const { voters, learners, addresses } = raft.membership;
    const known = addresses[String(nodeId)];
    if (voters.includes(nodeId) || learners.includes(nodeId)) {
      if (known === address) return Promise.resolve();
      throw new MqraftError(
        "REFUSED",
        `node ${nodeId} is already a member of this cluster (at ${known}); pick another id, or remove it first with "mqraft leave --id ${nodeId}"`,
      );
    }
    if (Object.entries(addresses).some(([id, a]) => a === address && Number(id) !== nodeId)) {
      throw new MqraftError("REFUSED", `${address} is already the address of another member`);
    }
    this.log.info(`Sync data with peer ${address}: node ${nodeId} joins as a learner`);
    return this.change({ op: "addLearner", id: nodeId, address });
  }

  async leave(nodeId: number): Promise<void> {
    const raft = this.driver().raft;
    const { voters, learners } = raft.membership;
    if (!voters.includes(nodeId) && !learners.includes(nodeId))
      throw new MqraftError("NOT_FOUND", `node ${nodeId} is not a member of this cluster`);
    if (voters.includes(nodeId)) {
      const after = voters.filter((v) => v !== nodeId);
      if (after.length === 0)
        throw new MqraftError("REFUSED", `node ${nodeId} is the last voter; a cluster cannot remove its last voter`);
      const reachable = await this.answeringPeers();
      const live = after.filter((v) => reachable.has(v)).length;
      const majority = Math.floor(after.length / 2) + 1;
      if (live < majority) {
        throw new MqraftError(
          "REFUSED",
          `removing node ${nodeId} would leave ${after.length} voters of which only ${live} are reachable, and a majority needs ${majority}`,
        );
      }
    }
    if (nodeId === raft.id && raft.role === "leader") await this.handOverBeforeLeaving(nodeId);
    await this.caughtUp(nodeId);
    return this.change({ op: "remove", id: nodeId });
  }

  /**
   * This broker and the peers that answer its appends. A leader counts every peer as heard from when it takes office,
   * so "reachable" alone says nothing for an election timeout after a failover or a hand-over, when a dead voter
   * would pass for live and its removal could leave a cluster without a majority. A peer that answered an append is
   * in the replicate state; one still probing is waited for (an election timeout at most) and then counts as dead.
   */
  private async answeringPeers(): Promise<Set<number>> {
    const deadline = this.now() + this.electionMs;
    for (;;) {
      const raft = this.driver().raft;
      const peers = raft.status().peers;
      const undecided = peers.some((p) => p.reachable && p.state === "probe");
      if (!undecided || this.now() > deadline)
        return new Set([raft.id, ...peers.filter((p) => p.reachable && p.state !== "probe").map((p) => p.id)]);
      await this.pause();
    }
  }

  /**
   * The leader is asked to remove itself: removing it first would leave the cluster without a leader until an
   * election (about two timeouts), so it hands leadership to the most caught-up reachable voter, as SIGTERM does,
   * and answers NOT_LEADER naming the heir, where the client's retry of the same request then removes it.
   */
  private async handOverBeforeLeaving(nodeId: number): Promise<never> {
    const status = this.driver().raft.status();
    const heirs = status.peers
      .filter((p) => !p.learner && p.reachable && p.state === "replicate")
      .sort((a, b) => b.match - a.match)
      .map((p) => p.id);
    const heir = heirs[0];
    if (heir === undefined)
      throw new MqraftError("REFUSED", `node ${nodeId} leads and no other voter is reachable to take over`);
    this.log.info(`Asked to leave while leading: handing leadership to node ${heir} first`);
    await this.transfer(heir);
    throw new MqraftError("NOT_LEADER", `node ${nodeId} handed leadership to node ${heir} before leaving`);
  }

  /**
   * Waits (at most an election timeout) until `nodeId` holds the whole log, so that it also
   * receives its own removal and can learn, from the leader's farewell heartbeat, that it is out.
   */
  private async caughtUp(nodeId: number): Promise<void> {
    const deadline = this.now() + this.electionMs;
    for (;;) {
      const status = this.driver().raft.status();
      const peer = status.peers.find((p) => p.id === nodeId);
      if (peer === undefined || !peer.reachable || peer.match >= status.lastIndex || this.now() > deadline) return;
      await this.pause();
    }
  }

  /** Resolves once `to` leads; TIMEOUT after two election timeouts. */
  async transfer(to: number): Promise<void> {
    const driver = this.driver();
    // Asked of the leader itself: it already leads, which is what was asked.
    if (driver.raft.role === "leader" && driver.raft.id === to) return;
    if (driver.raft.leader === to && driver.raft.role !== "leader") return;
    driver.withCore((raft) => raft.transferLeadership(to));
    const deadline = this.now() + 2 * this.electionMs;
    while (this.now() < deadline) {
      if (driver.raft.leader === to && driver.raft.role !== "leader") return;
      if (!this.isConnected(to))
        throw new MqraftError("UNAVAILABLE", `node ${to} went away before it took over leadership`);
      await this.pause();
    }
    throw new MqraftError("TIMEOUT", `node ${to} did not take over leadership within ${2 * this.electionMs} ms`);
  }

  private readonly unreachableSince = new Map<number, number>();

  /**
   * On the leader, every tick, when the operator asked for it (--remove-dead-after): removes a
   * member unreachable for longer than `afterMs`, if the rest still has a reachable majority. Off
   * by default: removing voters on a timeout can shrink a cluster below what its operator expects.
   */
  removeDeadMembers(afterMs: number | undefined, nowMs: number): void {
    const raft = this.driver().raft;
    if (afterMs === undefined || raft.role !== "leader") {
      this.unreachableSince.clear();
      return;
    }
    for (const peer of raft.status().peers) {
      if (peer.reachable) {
        this.unreachableSince.delete(peer.id);
        continue;
      }
      const since = this.unreachableSince.get(peer.id) ?? nowMs;
      this.unreachableSince.set(peer.id, since);
      if (nowMs - since < afterMs || raft.confChangePending) continue;
      this.unreachableSince.delete(peer.id);
      this.log.info(
        `Node ${peer.id} unreachable for ${Math.round((nowMs - since) / 1000)} s: removing it (--remove-dead-after)`,
      );
      this.leave(peer.id).catch((e) =>
        this.log.warn(`Could not remove node ${peer.id}: ${e instanceof Error ? e.message : String(e)}`),
      );
      return;
    }
  }

  /** On the leader, every tick: promotes one learner that has caught up. */
  promoteCaughtUpLearners(): void {
    const raft = this.driver().raft;
    if (raft.role !== "leader" || raft.membership.learners.length === 0 || raft.confChangePending) return;
    const status = raft.status();
    for (const peer of status.peers) {
      // Only a learner that has answered an append (replicate state) has shown it holds the log: a new learner counts
      // as reachable before it said anything, and with a short log its match of 0 is "within" PROMOTE_WITHIN.
      if (!peer.learner || !peer.reachable || peer.state !== "replicate") continue;
      if (peer.match + PROMOTE_WITHIN < status.lastIndex) continue;
      // A refusal (another change won the race) is retried at a later tick.
      this.change({ op: "promote", id: peer.id }).then(
        () =>
          this.log.info(
            `New node joins the cluster: node ${peer.id} at ${status.membership.addresses[String(peer.id)]} is a voter`,
          ),
        () => {},
      );
      return;
    }
  }

  /** Changes go one at a time: a request that arrives while another is in flight waits its turn. */
  private async change(cc: ConfChange): Promise<void> {
    const deadline = this.now() + 4 * this.electionMs;
    while (this.driver().raft.confChangePending && this.now() < deadline) await this.pause();
    const proposed: Proposed = this.driver().withCore((raft) => raft.proposeConfChange(cc));
    return await new Promise((resolve, reject) => {
      this.pending.add(proposed, (outcome) => (outcome instanceof MqraftError ? reject(outcome) : resolve()));
    });
  }
}
