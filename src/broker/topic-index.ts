import { bytesOf, moveInto } from "./columns.ts";

/**
 * The retained messages of one topic as an index from offset to where the message lives in the
 * Raft log: (log index, slot within the entry), plus payload size and the time of the command
 * that stored it. Payloads themselves stay in the log.
 *
 * Four typed-array columns, 24 bytes a message, hold the retained range [head, tail); offset
 * `firstOffset + k` is at position `head + k`. Dropping old messages moves `head`; appending at a
 * full capacity either slides the range down to 0 or reallocates, so appends are amortised O(1)
 * and allocate nothing per message.
 *
 * A snapshot holds views of the retained range instead of copies (snapshotColumns): from then on
 * nothing written in place may land in that range, so the next slide or restart at 0 moves the
 * columns to new memory instead (copy on write).
 */

const INITIAL_CAPACITY = 16;
/** A topic that empties gives back columns larger than this. */
const IDLE_CAPACITY = 1024;

export class TopicIndex {
  /** Offset of the message at `head`; when the topic is empty, the offset the next message gets. */
  firstOffset = 0;
  /** Sum of the payload sizes of the retained messages. */
  bytes = 0;
  head = 0;
  tail = 0;
  logIndex: Float64Array;
  slot: Uint32Array;
  size: Uint32Array;
  time: Float64Array;
  /** Position in the age heap, -1 when not in it (see age-heap.ts). */
  heapPos = -1;
  /** The round of BrokerState.takeAppended in which this topic was last listed as appended to. */
  appendRound = 0;
  /** Position in the TTL heap, -1 when not in it (see topic-ttl.ts). */
  ttlPos = -1;
  /** When messages with a TTL expire (ms), by offset; only those retained, undefined when there are none. */
  expiry: Map<number, number> | undefined;
  /** The columns' memory is viewed by a snapshot: move to new memory before overwriting any of it. */
  private shared = false;

  constructor(
    readonly name: string,
    /** Creation order, stable for the life of the state machine; the dedup window refers to topics by it. */
    readonly id: number,
    capacity = INITIAL_CAPACITY,
  ) {
    this.logIndex = new Float64Array(capacity);
    this.slot = new Uint32Array(capacity);
    this.size = new Uint32Array(capacity);
    this.time = new Float64Array(capacity);
  }

  get count(): number {
    return this.tail - this.head;
  }

  get nextOffset(): number {
    return this.firstOffset + this.tail - this.head;
  }

  /** Log index of the oldest retained message; only meaningful when count > 0. */
  get headLogIndex(): number {
    return this.logIndex[this.head] as number;
  }

  /** Time of the oldest retained message; only meaningful when count > 0. */
  get headTime(): number {
    return this.time[this.head] as number;
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
    if (this.tail === this.logIndex.length) this.makeRoom();
    const at = this.tail++;
    this.logIndex[at] = logIndex;
    this.slot[at] = slot;
    this.size[at] = size;
    this.time[at] = time;
    this.bytes += size;
    return this.firstOffset + at - this.head;
  }

  /** Drops the oldest message. The caller makes sure there is one. */
  dropHead(): void {
    if (this.expiry?.delete(this.firstOffset) && this.expiry.size === 0) this.expiry = undefined;
    this.bytes -= this.size[this.head] as number;
    this.head++;
    this.firstOffset++;
    if (this.head === this.tail)
      this.resize(this.logIndex.length > IDLE_CAPACITY ? INITIAL_CAPACITY : this.logIndex.length);
  }

  /**
   * The retained range of each column as bytes, for a snapshot: views, not copies, that keep
   * their content for as long as they are held (see the class comment).
   */
  snapshotColumns(): { logIndex: Uint8Array; slot: Uint8Array; size: Uint8Array; time: Uint8Array } {
    this.shared = true;
    const { head, tail } = this;
    return {
      logIndex: bytesOf(this.logIndex, head, tail),
      slot: bytesOf(this.slot, head, tail),
      size: bytesOf(this.size, head, tail),
      time: bytesOf(this.time, head, tail),
    };
  }

  /**
   * The offset of the first retained message stored at or after `time` (ms), or nextOffset when there is none: a
   * binary search of the time column, which never decreases (the state machine's clock only moves forward).
   */
  offsetAtTime(time: number): number {
    let lo = this.head;
    let hi = this.tail;
    const times = this.time;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((times[mid] as number) < time) lo = mid + 1;
      else hi = mid;
    }
    return this.firstOffset + lo - this.head;
  }

  /** Position of `offset` in the columns, or -1 when it is not retained. */
  positionOf(offset: number): number {
    if (offset < this.firstOffset || offset >= this.nextOffset) return -1;
    return this.head + offset - this.firstOffset;
  }

  private makeRoom(): void {
    const count = this.tail - this.head;
    // Slide down when at least half is free (each element then moves at most once per half a capacity of appends), otherwise double.
    const capacity = this.logIndex.length;
    this.resize(count * 2 <= capacity ? capacity : capacity * 2);
  }

  private resize(capacity: number): void {
    const { head, tail } = this;
    if (capacity === this.logIndex.length && !this.shared) {
      this.logIndex.copyWithin(0, head, tail);
      this.slot.copyWithin(0, head, tail);
      this.size.copyWithin(0, head, tail);
      this.time.copyWithin(0, head, tail);
    } else {
      this.logIndex = moveInto(new Float64Array(capacity), this.logIndex, head, tail);
      this.slot = moveInto(new Uint32Array(capacity), this.slot, head, tail);
      this.size = moveInto(new Uint32Array(capacity), this.size, head, tail);
      this.time = moveInto(new Float64Array(capacity), this.time, head, tail);
      this.shared = false;
    }
    this.head = 0;
    this.tail = tail - head;
  }
}

/** A topic rebuilt from snapshot columns of equal length (the retained messages, oldest first). */
export function topicFromColumns(
  name: string,
  id: number,
  firstOffset: number,
  columns: { logIndex: Float64Array; slot: Uint32Array; size: Uint32Array; time: Float64Array },
): TopicIndex {
  const count = columns.logIndex.length;
  const topic = new TopicIndex(name, id, Math.max(INITIAL_CAPACITY, count));
  topic.logIndex.set(columns.logIndex);
  topic.slot.set(columns.slot);
  topic.size.set(columns.size);
  topic.time.set(columns.time);
  topic.tail = count;
  topic.firstOffset = firstOffset;
  let bytes = 0;
  for (let i = 0; i < count; i++) bytes += columns.size[i] as number;
  topic.bytes = bytes;
  return topic;
}
