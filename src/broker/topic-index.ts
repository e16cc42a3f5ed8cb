import { assert } from "../util/assert.ts";
import { bytesOf, grownCapacity, lastAtOrBelow, moveInto } from "./columns.ts";

/**
 * The retained messages of one topic as an index from offset to where the message lives in the
 * Raft log: (log index, slot within the entry), plus payload size and the time of the command
 * that stored it. Payloads themselves stay in the log.
 *
 * A publish entry stores the messages of one topic at consecutive offsets, with one log index and
 * one time, so the index keeps those once per *run*: the messages of a topic that share their log
 * index, their time and the high 16 bits of their slot (so, under batched load, the topic's
 * messages of one entry). Per run (28 bytes): the offset and slot of its first message, its log
 * index and its time; per message (2 bytes): its payload size, a size of 65,535 or more standing for
 * the size kept by offset in `largeSizes` (a message that large costs its 64 KiB and more in the log:
 * the map's tens of bytes a message do not count beside it). While a topic's runs hold consecutive
 * slots (one topic to a batch, or to a connection) a message's slot is its run's first slot plus its
 * place in the run; once a run has a gap (messages of other topics between them in the entry), each
 * message also keeps its slot's low 16 bits (2 bytes more) until no retained run has one (`gaps`).
 * All of this is a function of the retained messages alone: every replica, restored or not, holds
 * the same runs and columns, and their snapshots are the same bytes.
 *
 * Messages [head, tail) and runs [runHead, runTail) sit in columns; offset `firstOffset + k` is
 * message `head + k`. Dropping old messages moves `head` (and `runHead` once a run is all gone: the
 * oldest run may have begun before `firstOffset`); appending at a full capacity either slides the
 * range down to 0 or reallocates (columns.ts, grownCapacity), so appends are amortised O(1) and
 * allocate nothing per message.
 *
 * A snapshot holds views of the retained ranges instead of copies (snapshotColumns): from then on
 * nothing written in place may land in them, so the next slide or restart at 0 moves the columns to
 * new memory instead (copy on write).
 */

/** The columns of a new topic: messages, runs. */
export const INITIAL_CAPACITY = 16;
export const INITIAL_RUNS = 4;
/** A topic that empties gives back columns larger than this. */
const IDLE_CAPACITY = 1024;
const LOW = 0x10000;
/** Slots are below 2^32 (an entry holds far fewer messages): their high half fits the run's 16 bits. */
const MAX_SLOT = 0xffffffff;
/** A payload size at or above this is kept in largeSizes; the size column says only this. */
export const LARGE_SIZE = 0xffff;

export interface SnapshotColumns {
  /** Per run: its log index, its time, where it starts and its first slot (all but the first run's: headSlot). */
  logIndex: Uint8Array;
  time: Uint8Array;
  start: Uint8Array;
  slot: Uint8Array;
  /** Per message: its size, and its slot's low half (only while a run has a gap, else no bytes). */
  size: Uint8Array;
  slotLow: Uint8Array;
}

export class TopicIndex {
  /** Offset of the message at `head`; when the topic is empty, the offset the next message gets. */
  firstOffset = 0;
  /** Sum of the payload sizes of the retained messages. */
  bytes = 0;
  head = 0;
  tail = 0;
  size: Uint16Array;
  /** The slots' low halves, only while `gaps` > 0 (else each run's slots are consecutive). */
  slotLow: Uint16Array | undefined;
  /** Pairs of retained messages next to each other in one run whose slots are not consecutive. */
  gaps = 0;
  /** The slot of the message at `head` (its run may have begun before it), and of the newest message. */
  headSlot = 0;
  tailSlot = 0;
  /** The payload sizes of LARGE_SIZE or more, by offset: only those retained, undefined when there are none. */
  largeSizes: Map<number, number> | undefined;
  runHead = 0;
  runTail = 0;
  runStart: Float64Array;
  runLogIndex: Float64Array;
  runTime: Float64Array;
  /** The slot of each run's first message (the first run's may be gone: headSlot). */
  runSlot: Uint32Array;
  /** Position in the age heap, -1 when not in it (see age-heap.ts). */
  heapPos = -1;
  /** The round of BrokerState.takeAppended in which this topic was last listed as appended to. */
  appendRound = 0;
  /** Position in the TTL heap, -1 when not in it (see topic-ttl.ts). */
  ttlPos = -1;
  /** When messages with a TTL expire (ms), by offset; only those retained, undefined when there are none. */
  expiry: Map<number, number> | undefined;
  /** The columns' memory is viewed by a snapshot: move to new memory before overwriting any of it. */
  private sharedMessages = false;
  private sharedRuns = false;
  /** The run runOf found last: readers go forward through a topic, so the next offset is mostly in it or the next. */
  private lastRun = 0;

  constructor(
    readonly name: string,
    /** Creation order, stable for the life of the state machine; the dedup window refers to topics by it. */
    readonly id: number,
    capacity = INITIAL_CAPACITY,
    runs = INITIAL_RUNS,
  ) {
    this.size = new Uint16Array(capacity);
    this.runStart = new Float64Array(runs);
    this.runLogIndex = new Float64Array(runs);
    this.runTime = new Float64Array(runs);
    this.runSlot = new Uint32Array(runs);
  }

  get count(): number {
    return this.tail - this.head;
  }

  get nextOffset(): number {
    return this.firstOffset + this.tail - this.head;
  }

  get runs(): number {
    return this.runTail - this.runHead;
  }

  /** Log index of the oldest retained message; only meaningful when count > 0. */
  get headLogIndex(): number {
    return this.runLogIndex[this.runHead] as number;
  }

  /** Time of the oldest retained message; only meaningful when count > 0. */
  get headTime(): number {
    return this.runTime[this.runHead] as number;
  }

  /** When the oldest retained message expires (its TTL), Infinity when it has none or the topic is empty. */
  get headExpiry(): number {
    if (this.expiry === undefined || this.tail === this.head) return Infinity;
    return this.expiry.get(this.firstOffset) ?? Infinity;
  }

  /** Whether the message at `offset` has a TTL that has run out at `now`. */
  expiredAt(offset: number, now: number): boolean {
    const expires = this.expiry?.get(offset);
    return expires !== undefined && expires <= now;
  }

  /** Gives the message at `offset` (just appended) an expiry time. */
  setExpiry(offset: number, expiresAt: number): void {
    this.expiry ??= new Map();
    this.expiry.set(offset, expiresAt);
  }

  /** Stores one message and returns its offset. */
  append(logIndex: number, slot: number, size: number, time: number): number {
    // no closure for the message: this runs for every message stored
    if (!(slot >= 0 && slot <= MAX_SLOT)) assert(false, `slot ${slot} is a u32`);
    const last = this.runTail - 1;
    const offset = this.nextOffset;
    const empty = this.tail === this.head;
    if (
      empty ||
      this.runLogIndex[last] !== logIndex ||
      this.runTime[last] !== time ||
      (this.runSlot[last] as number) >>> 16 !== slot >>> 16
    )
      this.addRun(offset, logIndex, time, slot);
    else if (slot !== this.tailSlot + 1 && this.gaps++ === 0) this.keepLows();
    if (this.tail === this.size.length) this.makeRoom();
    const at = this.tail++;
    if (size < LARGE_SIZE) this.size[at] = size;
    else {
      this.size[at] = LARGE_SIZE;
      this.largeSizes ??= new Map();
      this.largeSizes.set(offset, size);
    }
    if (this.slotLow !== undefined) this.slotLow[at] = slot & 0xffff;
    if (empty) this.headSlot = slot;
    this.tailSlot = slot;
    this.bytes += size;
    return offset;
  }

  /** Drops the oldest message. The caller makes sure there is one. */
  dropHead(): void {
    if (this.expiry?.delete(this.firstOffset) && this.expiry.size === 0) this.expiry = undefined;
    const size = this.size[this.head] as number;
    this.bytes -= size === LARGE_SIZE ? this.dropLarge(this.firstOffset) : size;
    const lows = this.slotLow;
    const { head } = this;
    this.head++;
    this.firstOffset++;
    if (this.head === this.tail) {
      this.runHead = this.runTail;
      this.resize(this.size.length > IDLE_CAPACITY ? INITIAL_CAPACITY : this.size.length);
      this.resizeRuns(this.runStart.length > IDLE_CAPACITY ? INITIAL_RUNS : this.runStart.length);
    } else if (this.runHead + 1 < this.runTail && this.runStart[this.runHead + 1] === this.firstOffset) {
      this.runHead++;
      this.headSlot = this.runSlot[this.runHead] as number;
    } else if (lows === undefined) this.headSlot++;
    else {
      // the same run, so the same high half
      const step = (lows[head + 1] as number) - (lows[head] as number);
      this.headSlot += step;
      if (step !== 1 && --this.gaps === 0) this.slotLow = undefined;
    }
  }

  /** The run holding `offset`, -1 when the offset is not retained. */
  runOf(offset: number): number {
    if (offset < this.firstOffset || offset >= this.nextOffset) return -1;
    const starts = this.runStart;
    const { runHead, runTail } = this;
    const at = this.lastRun;
    if (at >= runHead && at < runTail && (starts[at] as number) <= offset) {
      if (at + 1 === runTail || (starts[at + 1] as number) > offset) return at;
      if (at + 2 === runTail || (starts[at + 2] as number) > offset) {
        this.lastRun = at + 1;
        return at + 1;
      }
    }
    // a topic's runs are mostly alike in length: start the search where the offset would be if they were all alike
    const guess = runHead + Math.floor(((offset - this.firstOffset) * (runTail - runHead)) / (this.tail - this.head));
    const run = lastAtOrBelow(starts, runHead, runTail, Math.min(guess, runTail - 1), offset);
    this.lastRun = run;
    return run;
  }

  /** Where the run after `run` starts: nextOffset for the newest run. */
  runEnd(run: number): number {
    return run + 1 < this.runTail ? (this.runStart[run + 1] as number) : this.nextOffset;
  }

  /** The slot of the retained message at `offset`, which is in run `run` (runOf). */
  slotAt(offset: number, run: number): number {
    const lows = this.slotLow;
    if (lows !== undefined) {
      const first = this.runSlot[run] as number;
      return first - (first % LOW) + (lows[this.head + offset - this.firstOffset] as number);
    }
    if (run === this.runHead) return this.headSlot + offset - this.firstOffset;
    return (this.runSlot[run] as number) + offset - (this.runStart[run] as number);
  }

  /** The payload size of the retained message at `offset`. */
  sizeAt(offset: number): number {
    const size = this.size[this.head + offset - this.firstOffset] as number;
    return size === LARGE_SIZE ? (this.largeSizes?.get(offset) as number) : size;
  }

  /**
   * The retained ranges as bytes, for a snapshot: views, not copies, that keep their content for
   * as long as they are held (see the class comment).
   */
  snapshotColumns(): SnapshotColumns {
    this.sharedMessages = true;
    this.sharedRuns = true;
    const { head, tail, runHead, runTail } = this;
    const second = Math.min(runHead + 1, runTail);
    return {
      logIndex: bytesOf(this.runLogIndex, runHead, runTail),
      time: bytesOf(this.runTime, runHead, runTail),
      start: bytesOf(this.runStart, second, runTail),
      slot: bytesOf(this.runSlot, second, runTail),
      size: bytesOf(this.size, head, tail),
      slotLow: this.slotLow === undefined ? new Uint8Array(0) : bytesOf(this.slotLow, head, tail),
    };
  }

  /**
   * The offset of the first retained message stored at or after `time` (ms), or nextOffset when there is none: a
   * binary search of the runs' times, which never decrease (the state machine's clock only moves forward).
   */
  offsetAtTime(time: number): number {
    let lo = this.runHead;
    let hi = this.runTail;
    const times = this.runTime;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((times[mid] as number) < time) lo = mid + 1;
      else hi = mid;
    }
    if (lo === this.runTail) return this.nextOffset;
    return Math.max(this.firstOffset, this.runStart[lo] as number);
  }

  /** The large size of the oldest message, which it forgets. */
  private dropLarge(offset: number): number {
    const sizes = this.largeSizes as Map<number, number>;
    const size = sizes.get(offset) as number;
    sizes.delete(offset);
    if (sizes.size === 0) this.largeSizes = undefined;
    return size;
  }

  /** A run has its first gap: from now on each message keeps its slot's low half. */
  private keepLows(): void {
    const lows = new Uint16Array(this.size.length);
    let run = this.runHead;
    let slot = this.headSlot;
    for (let offset = this.firstOffset; offset < this.nextOffset; offset++, slot++) {
      if (run + 1 < this.runTail && this.runStart[run + 1] === offset) slot = this.runSlot[++run] as number;
      lows[this.head + offset - this.firstOffset] = slot % LOW;
    }
    this.slotLow = lows;
  }

  private addRun(start: number, logIndex: number, time: number, slot: number): void {
    if (this.runTail === this.runStart.length) this.resizeRuns(grownCapacity(this.runs, this.runStart.length));
    const at = this.runTail++;
    this.runStart[at] = start;
    this.runLogIndex[at] = logIndex;
    this.runTime[at] = time;
    this.runSlot[at] = slot;
  }

  private makeRoom(): void {
    this.resize(grownCapacity(this.count, this.size.length));
  }

  private resize(capacity: number): void {
    const { head, tail } = this;
    if (capacity === this.size.length && !this.sharedMessages) {
      this.size.copyWithin(0, head, tail);
      this.slotLow?.copyWithin(0, head, tail);
    } else {
      this.size = moveInto(new Uint16Array(capacity), this.size, head, tail);
      if (this.slotLow !== undefined) this.slotLow = moveInto(new Uint16Array(capacity), this.slotLow, head, tail);
      this.sharedMessages = false;
    }
    this.head = 0;
    this.tail = tail - head;
  }

  private resizeRuns(capacity: number): void {
    const { runHead: head, runTail: tail } = this;
    if (capacity === this.runStart.length && !this.sharedRuns) {
      this.runStart.copyWithin(0, head, tail);
      this.runLogIndex.copyWithin(0, head, tail);
      this.runTime.copyWithin(0, head, tail);
      this.runSlot.copyWithin(0, head, tail);
    } else {
      this.runStart = moveInto(new Float64Array(capacity), this.runStart, head, tail);
      this.runLogIndex = moveInto(new Float64Array(capacity), this.runLogIndex, head, tail);
      this.runTime = moveInto(new Float64Array(capacity), this.runTime, head, tail);
      this.runSlot = moveInto(new Uint32Array(capacity), this.runSlot, head, tail);
      this.sharedRuns = false;
    }
    this.runHead = 0;
    this.runTail = tail - head;
    this.lastRun = 0;
  }
}
