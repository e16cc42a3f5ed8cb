/**
 * The leader's view of one follower. Probe: one append at a time until the follower's position is
 * known. Replicate: stream appends, up to a window of unacknowledged messages. Snapshot: the
 * follower needs entries the leader no longer holds, so it receives the snapshot in chunks.
 */
import { Inflights } from "./inflights.ts";

export type ProgressState = "probe" | "replicate" | "snapshot";

export class Progress {
  match = 0;
  next: number;
  state: ProgressState = "probe";
  /** Probe: an append is out and unanswered. */
  probeSent = false;
  /** Snapshot state: index of the snapshot being sent and the bytes the follower acknowledged. */
  pendingSnapshot = 0;
  snapshotOffset = 0;
  /**
   * Snapshot state, in leader ticks: when the chunk at snapshotOffset was first sent and last sent, and how long the
   * last answered chunk took to be answered (counted from its first send). A chunk is sent again only once its answer
   * is overdue (step-leader.ts).
   */
  snapshotSentAt = 0;
  snapshotResentAt = 0;
  snapshotRoundTrip = 0;
  /** Highest commit index sent, so that a commit-only append goes out once per change. */
  sentCommit = 0;
  /** The leader's tick count when a rejection last made it step back from replicate state (step-leader.ts). */
  backtrackedAt = Number.NEGATIVE_INFINITY;
  /** The leader's tick count when it last heard from this member (check-quorum and reachability). */
  lastHeard: number;
  readonly inflights: Inflights;

  constructor(
    next: number,
    maxInflight: number,
    public learner: boolean,
    now: number,
    maxInflightBytes = Number.POSITIVE_INFINITY,
  ) {
    this.next = next;
    this.lastHeard = now;
    this.inflights = new Inflights(maxInflight, maxInflightBytes);
  }

  becomeProbe(): void {
    this.next = this.state === "snapshot" ? Math.max(this.match + 1, this.pendingSnapshot + 1) : this.match + 1;
    this.resetState("probe");
  }

  becomeReplicate(): void {
    this.next = this.match + 1;
    this.resetState("replicate");
  }

  becomeSnapshot(index: number): void {
    this.resetState("snapshot");
    this.pendingSnapshot = index;
  }

  /** Records an acknowledgement up to `index`; false when it tells nothing new (stale or duplicate). */
  maybeUpdate(index: number): boolean {
    this.next = Math.max(this.next, index + 1);
    if (index <= this.match) return false;
    this.match = index;
    this.probeSent = false;
    return true;
  }

  /**
   * The follower rejected an append at `rejected`; `hint` is the highest index that may still
   * match. False when the rejection is stale (it answers an append sent before a later decision).
   */
  maybeDecrTo(rejected: number, hint: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.next = this.match + 1;
      return true;
    }
    if (this.state === "snapshot" || this.next - 1 !== rejected) return false;
    this.next = Math.max(Math.min(rejected, hint + 1), this.match + 1);
    this.probeSent = false;
    return true;
  }

  paused(): boolean {
    switch (this.state) {
      case "probe":
        return this.probeSent;
      case "replicate":
        return this.inflights.full();
      case "snapshot":
        return true;
    }
  }

  /** An append ending at `lastIndex` went out (`lastIndex` < next when it carried no entries), with `bytes` of entry data. */
  sentAppend(lastIndex: number, carriedEntries: boolean, bytes = 0): void {
    if (this.state === "replicate") {
      if (carriedEntries) {
        this.next = lastIndex + 1;
        this.inflights.add(lastIndex, bytes);
      }
    } else {
      this.probeSent = true;
    }
  }

  private resetState(state: ProgressState): void {
    this.state = state;
    this.probeSent = false;
    this.pendingSnapshot = 0;
    this.snapshotOffset = 0;
    this.snapshotRoundTrip = 0;
    this.inflights.reset();
  }
}
