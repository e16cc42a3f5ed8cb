import type { ApplyResult } from "../broker/results.ts";
import type { Proposed } from "../raft/index.ts";
import { MqraftError } from "../util/errors.ts";

type Settle = (outcome: ApplyResult[] | MqraftError) => void;

/**
 * Proposals this node made as leader, by log index, waiting to be applied. An entry applied at
 * that index with another term means the proposal was overwritten by a new leader: its outcome is
 * unknown to the client only in the sense that it was not stored, so it is told to retry.
 */
export class PendingProposals {
  private readonly waiting = new Map<number, { term: number; settle: Settle }>();

  add(proposed: Proposed, settle: Settle): void {
    this.waiting.set(proposed.index, { term: proposed.term, settle });
  }

  get size(): number {
    return this.waiting.size;
  }

  /** Called for every applied entry, in order. */
  applied(index: number, term: number, results: ApplyResult[]): void {
    if (this.waiting.size === 0) return;
    const w = this.waiting.get(index);
    if (w === undefined) return;
    this.waiting.delete(index);
    if (w.term === term) w.settle(results);
    else w.settle(new MqraftError("NOT_LEADER", "leadership changed before the request was committed; retry"));
  }

  /**
   * Entries below the log's new start (a snapshot replaced them) can no longer be matched; their
   * fate is unknown, which the client learns as UNAVAILABLE and resolves by retrying (dedup makes it safe).
   */
  dropThrough(index: number, why: string): void {
    for (const [i, w] of this.waiting) {
      if (i > index) continue;
      this.waiting.delete(i);
      w.settle(new MqraftError("UNAVAILABLE", why));
    }
  }

  failAll(error: MqraftError): void {
    for (const w of this.waiting.values()) w.settle(error);
    this.waiting.clear();
  }
}
