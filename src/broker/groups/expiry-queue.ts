/**
 * Ack-wait deadlines of one group, in the order they fall due. Every delivery of a group has the
 * same wait, and command time only moves forward, so deadlines are pushed in ascending order and a
 * FIFO is enough: an extended deadline is pushed again at the back, and the entry it replaces is
 * recognised as stale when it comes out (its deadline no longer matches the delivery's).
 */
export class ExpiryQueue {
  private offsets: number[] = [];
  private attempts: number[] = [];
  private deadlines: number[] = [];
  private head = 0;

  get size(): number {
    return this.offsets.length - this.head;
  }

  push(offset: number, attempt: number, deadline: number): void {
    this.offsets.push(offset);
    this.attempts.push(attempt);
    this.deadlines.push(deadline);
  }

  first(): number {
    return this.head < this.deadlines.length ? (this.deadlines[this.head] as number) : Infinity;
  }

  /** The oldest entry if its deadline is at or before `time` (it is removed), else undefined. */
  due(time: number): { offset: number; attempt: number; deadline: number } | undefined {
    if (this.head >= this.deadlines.length || (this.deadlines[this.head] as number) > time) return undefined;
    const at = this.head++;
    const entry = {
      offset: this.offsets[at] as number,
      attempt: this.attempts[at] as number,
      deadline: this.deadlines[at] as number,
    };
    if (this.head > 1024 && this.head * 2 > this.offsets.length) this.compact();
    return entry;
  }

  /** Entries from oldest to newest. */
  *entries(): Generator<[number, number, number]> {
    for (let i = this.head; i < this.offsets.length; i++)
      yield [this.offsets[i] as number, this.attempts[i] as number, this.deadlines[i] as number];
  }

  /** Drops the entries `live` says are stale (extended since), keeping the order of the rest. */
  prune(live: (offset: number, attempt: number, deadline: number) => boolean): void {
    // in place: this runs every few thousand deliveries of a busy group
    let kept = 0;
    for (let i = this.head; i < this.offsets.length; i++) {
      const offset = this.offsets[i] as number;
      const attempt = this.attempts[i] as number;
      const deadline = this.deadlines[i] as number;
      if (!live(offset, attempt, deadline)) continue;
      this.offsets[kept] = offset;
      this.attempts[kept] = attempt;
      this.deadlines[kept] = deadline;
      kept++;
    }
    this.offsets.length = kept;
    this.attempts.length = kept;
    this.deadlines.length = kept;
    this.head = 0;
  }

  private compact(): void {
    this.offsets = this.offsets.slice(this.head);
    this.attempts = this.attempts.slice(this.head);
    this.deadlines = this.deadlines.slice(this.head);
    this.head = 0;
  }
}
