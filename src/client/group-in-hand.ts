/**
 * The deliveries handed to a group member and not settled yet, kept by runs (group-stream.ts): a push gives a run of
 * consecutive keys of one attempt, and a member that acks what it gets settles whole runs, so a run costs one record
 * and a mark a message instead of a map entry set, looked up and deleted per message.
 */

/** Consecutive keys `first`.. of one attempt handed to the member; `live` marks those it still holds. */
export class HandedRun {
  /** 1 for a key still held; 0 once settled, given again as another attempt, or a copy of one held already. */
  readonly live: Uint8Array;
  /** Keys still held. */
  left = 0;

  constructor(
    readonly first: number,
    readonly count: number,
    readonly attempt: number,
  ) {
    this.live = new Uint8Array(count);
  }

  holds(key: number): boolean {
    const i = key - this.first;
    return i >= 0 && i < this.count && this.live[i] === 1;
  }
}

/**
 * A key is held by at most one run at a time: a delivery of a key held already under the same attempt is a copy (a
 * new leader sends again what the member holds) and is not marked; under another attempt (redelivered after a nak
 * or an expiry, which may come before the answer to the nak) it replaces the one held.
 */
export class InHand {
  /** Runs with a key still held, in the order handed. */
  private readonly runs: HandedRun[] = [];
  /** No run handed so far reaches this key: a run from here on meets none (the usual case, runs come in order). */
  private end = 0;

  /** Keys held. */
  get size(): number {
    let n = 0;
    for (const run of this.runs) n += run.left;
    return n;
  }

  /** Takes a run handed to the member; its `live` marks say which keys are new to it (the others are copies). */
  add(first: number, count: number, attempt: number): HandedRun {
    const run = new HandedRun(first, count, attempt);
    run.live.fill(1);
    run.left = count;
    // the usual case, in order: no run held can share a key, so the per-run check below is skipped
    if (first < this.end) for (let r = this.runs.length - 1; r >= 0; r--) this.meet(run, this.runs[r] as HandedRun);
    this.end = Math.max(this.end, first + count);
    if (run.left > 0) this.runs.push(run);
    return run;
  }

  /**
   * The run that holds delivery `attempt` of `key`: `run` (the one it was handed in) while it does, else the one a
   * later copy of the same delivery was handed in, if any (a copy may come again once the first was let go, after a
   * settle that failed).
   */
  holder(run: HandedRun, key: number, attempt: number): HandedRun | undefined {
    if (run.holds(key)) return run;
    for (const r of this.runs) if (r.attempt === attempt && r.holds(key)) return r;
    return undefined;
  }

  /**
   * Settles of these deliveries were answered: each is let go, not another attempt of its key (a redelivery after a
   * nak may have come before the answer).
   */
  release(deliveries: readonly { readonly run: HandedRun; readonly key: number; readonly attempt: number }[]): void {
    for (let d = 0; d < deliveries.length; d++) {
      const { run, key, attempt } = deliveries[d] as (typeof deliveries)[number];
      const holder = run.live[key - run.first] === 1 ? run : this.holder(run, key, attempt);
      if (holder === undefined) continue;
      holder.live[key - holder.first] = 0;
      if (--holder.left === 0) this.runs.splice(this.runs.indexOf(holder), 1);
    }
  }

  /** The keys the new `run` shares with `held`: a copy is unmarked in `run`, another attempt replaces `held`'s. */
  private meet(run: HandedRun, held: HandedRun): void {
    const from = Math.max(run.first, held.first);
    const to = Math.min(run.first + run.count, held.first + held.count);
    for (let key = from; key < to; key++) {
      const i = key - held.first;
      if (held.live[i] !== 1) continue;
      if (held.attempt === run.attempt) {
        run.live[key - run.first] = 0;
        run.left--;
      } else {
        held.live[i] = 0;
        held.left--;
      }
    }
    if (held.left === 0) this.runs.splice(this.runs.indexOf(held), 1);
  }
}
