import { bytesOf, moveInto } from "./columns.ts";

/**
 * The sequence numbers one producer used recently, with the (topic, offset) each was stored at,
 * so that a retried publish is answered with its original result instead of being stored again.
 * Sorted by seq in typed-array columns over [head, tail): 20 bytes a seq, binary search to look
 * up, O(1) to append the usual increasing seq; an out-of-order seq is inserted in place.
 */

export const SEQS_PER_PRODUCER = 10_000;
const INITIAL_CAPACITY = 4;
// A quarter of slack above the limit: sliding the window down then costs at most 4 moves per seq.
const MAX_CAPACITY = SEQS_PER_PRODUCER + SEQS_PER_PRODUCER / 4;

export class ProducerWindow {
  head = 0;
  tail = 0;
  seq: Float64Array;
  topicId: Uint32Array;
  offset: Float64Array;
  /**
   * The incarnation this window belongs to: 0 for a producer that never registered (its seqs are
   * only deduplicated), else the log index of its `register`, and its seqs are then stored in order.
   */
  epoch = 0;
  /** With an epoch: the seq the next new publish must carry (the last stored + 1). */
  nextSeq = 0;
  /** The session of the `register` that started the epoch (undefined: none given, or started by a publish). */
  session: string | undefined = undefined;
  /** The session of the epoch before this one: a register with it is refused, never a new epoch. */
  replacedSession: string | undefined = undefined;
  /** The columns' memory is viewed by a snapshot: move to new memory before overwriting any of it. */
  private shared = false;

  constructor(
    readonly id: string,
    /** Command time of the producer's latest publish. */
    public lastSeen: number,
    capacity = INITIAL_CAPACITY,
  ) {
    this.seq = new Float64Array(capacity);
    this.topicId = new Uint32Array(capacity);
    this.offset = new Float64Array(capacity);
  }

  get count(): number {
    return this.tail - this.head;
  }

  /** Column position of `seq`, or -1 when it is not remembered. */
  find(seq: number): number {
    const { head, tail } = this;
    if (head === tail || seq > (this.seq[tail - 1] as number) || seq < (this.seq[head] as number)) return -1;
    const at = this.lowerBound(seq);
    return this.seq[at] === seq ? at : -1;
  }

  /**
   * Remembers a seq that find() did not know. Returns how many seqs the window grew by (0 or 1):
   * a full window forgets its smallest seq, and a seq below a full window is not remembered.
   */
  record(seq: number, topicId: number, offset: number): number {
    if (this.tail - this.head === SEQS_PER_PRODUCER && seq < (this.seq[this.head] as number)) return 0;
    if (this.tail === this.seq.length) this.makeRoom();
    const inserted = this.tail > this.head && seq < (this.seq[this.tail - 1] as number);
    if (inserted && this.shared) this.moveTo(this.seq.length);
    const tail = this.tail;
    let at = tail;
    if (inserted) {
      at = this.lowerBound(seq);
      this.seq.copyWithin(at + 1, at, tail);
      this.topicId.copyWithin(at + 1, at, tail);
      this.offset.copyWithin(at + 1, at, tail);
    }
    this.seq[at] = seq;
    this.topicId[at] = topicId;
    this.offset[at] = offset;
    this.tail = tail + 1;
    if (this.tail - this.head <= SEQS_PER_PRODUCER) return 1;
    this.head++;
    return 0;
  }

  /**
   * Forgets every remembered seq (for space) and returns how many. epoch and nextSeq stay: a retry
   * of a forgotten seq is still known to be stored, only its offset is lost.
   */
  forgetSeqs(): number {
    const count = this.tail - this.head;
    this.head = this.tail;
    return count;
  }

  /** Starts incarnation `epoch` with no seq stored. Returns how many seqs were forgotten. */
  restart(epoch: number, nextSeq: number, session?: string): number {
    this.epoch = epoch;
    this.nextSeq = nextSeq;
    this.session = session;
    return this.forgetSeqs();
  }

  private lowerBound(seq: number): number {
    let lo = this.head;
    let hi = this.tail;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.seq[mid] as number) < seq) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** The remembered range of each column as bytes, for a snapshot: views kept intact while held. */
  snapshotColumns(): { seq: Uint8Array; topicId: Uint8Array; offset: Uint8Array } {
    this.shared = true;
    const { head, tail } = this;
    return {
      seq: bytesOf(this.seq, head, tail),
      topicId: bytesOf(this.topicId, head, tail),
      offset: bytesOf(this.offset, head, tail),
    };
  }

  private makeRoom(): void {
    const count = this.tail - this.head;
    const capacity = this.seq.length;
    if (count * 2 > capacity && capacity < MAX_CAPACITY) this.moveTo(Math.min(capacity * 2, MAX_CAPACITY));
    else if (this.shared) this.moveTo(capacity);
    else {
      this.seq.copyWithin(0, this.head, this.tail);
      this.topicId.copyWithin(0, this.head, this.tail);
      this.offset.copyWithin(0, this.head, this.tail);
      this.head = 0;
      this.tail = count;
    }
  }

  /** Moves the columns to new memory of `capacity` elements, the range starting at 0. */
  private moveTo(capacity: number): void {
    const { head, tail } = this;
    this.seq = moveInto(new Float64Array(capacity), this.seq, head, tail);
    this.topicId = moveInto(new Uint32Array(capacity), this.topicId, head, tail);
    this.offset = moveInto(new Float64Array(capacity), this.offset, head, tail);
    this.shared = false;
    this.head = 0;
    this.tail = tail - head;
  }
}

/** A window rebuilt from snapshot columns (sorted by seq, equal lengths). */
export function producerFromColumns(
  id: string,
  lastSeen: number,
  columns: { seq: Float64Array; topicId: Uint32Array; offset: Float64Array },
  epoch = 0,
  nextSeq = 0,
  session?: string,
  replacedSession?: string,
): ProducerWindow {
  const count = columns.seq.length;
  const window = new ProducerWindow(id, lastSeen, Math.max(INITIAL_CAPACITY, count));
  window.seq.set(columns.seq);
  window.topicId.set(columns.topicId);
  window.offset.set(columns.offset);
  window.tail = count;
  window.epoch = epoch;
  window.nextSeq = nextSeq;
  window.session = session;
  window.replacedSession = replacedSession;
  return window;
}
