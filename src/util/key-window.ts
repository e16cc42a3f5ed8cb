/**
 * Values by whole-number key, with a Map's behaviour (get, has, set, delete, size, and iteration in the
 * order keys were added, a key set again keeping its place), but indexed by the key itself, for keys that come in
 * ascending order and mostly go soon after, as a consumer group's outstanding deliveries do (a topic's offsets, or a
 * pattern group's own numbers, handed out in order and settled soon). They sit in an array window from the oldest
 * live key up. In a broker a Map's set and delete per message missed the caches: ~210 ns each,
 * the largest part of a follower's group state (bench/RESULTS.md, session 10).
 *
 * Keys left far behind the window (a message held or redelivered long after later ones were settled) move to a Map of
 * stragglers, so the window stays within twice its live keys (plus a margin) however far apart the outstanding keys
 * are: what this holds is bounded by its live keys, as a Map's was. Iteration (snapshots, a member's
 * leave) sorts by the order keys were added, which is rare next to the per-message get, set and delete.
 */

/** Holes a window may hold beyond its live keys before the front part moves to the stragglers. */
const SLACK = 4096;
/** A key this far past the window's end starts a new window (the old one's keys move to the stragglers). */
const MAX_GAP = 4096;

export class KeyWindow<V> {
  /** Key of `values[0]`. */
  private base = 0;
  /** Index of the first slot that may be live; those before it are empty. */
  private head = 0;
  private slots: (V | undefined)[] = [];
  /** When each live slot's key was added (its place in the iteration order). */
  private stamps: number[] = [];
  /** Live keys in the window. */
  private windowLive = 0;
  /** Keys below `base + head`, with when each was added. */
  private readonly stragglers = new Map<number, { value: V; stamp: number }>();
  private nextStamp = 0;

  get size(): number {
    return this.windowLive + this.stragglers.size;
  }

  /** Slots the window keeps (live or empty): within twice its live keys plus a margin. */
  get slotsKept(): number {
    return this.slots.length;
  }

  get(key: number): V | undefined {
    const i = key - this.base;
    if (i >= this.head && i < this.slots.length) return this.slots[i];
    if (i < this.head && this.stragglers.size > 0) return this.stragglers.get(key)?.value;
    return undefined;
  }

  has(key: number): boolean {
    return this.get(key) !== undefined;
  }

  set(key: number, value: V): this {
    let i = key - this.base;
    if (i < this.head) {
      const known = this.stragglers.get(key);
      if (known !== undefined) known.value = value;
      else this.stragglers.set(key, { value, stamp: this.nextStamp++ });
      return this;
    }
    if (i >= this.slots.length + MAX_GAP) {
      // far ahead: what the window holds is left behind
      this.evict(this.slots.length);
      this.base = key;
      this.head = 0;
      this.slots = [];
      this.stamps = [];
      i = 0;
    }
    while (this.slots.length < i) {
      this.slots.push(undefined);
      this.stamps.push(0);
    }
    if (i === this.slots.length) {
      this.slots.push(value);
      this.stamps.push(this.nextStamp++);
      this.windowLive++;
    } else if (this.slots[i] === undefined) {
      this.slots[i] = value;
      this.stamps[i] = this.nextStamp++;
      this.windowLive++;
    } else this.slots[i] = value;
    this.bound();
    return this;
  }

  delete(key: number): boolean {
    const i = key - this.base;
    if (i < this.head) return this.stragglers.delete(key);
    if (i >= this.slots.length || this.slots[i] === undefined) return false;
    this.slots[i] = undefined;
    this.windowLive--;
    if (i === this.head) this.advance();
    return true;
  }

  /** Keys and values in the order the keys were added. */
  *[Symbol.iterator](): Generator<[number, V]> {
    const all: { key: number; value: V; stamp: number }[] = [];
    for (const [key, { value, stamp }] of this.stragglers) all.push({ key, value, stamp });
    for (let i = this.head; i < this.slots.length; i++) {
      const value = this.slots[i];
      if (value !== undefined) all.push({ key: this.base + i, value, stamp: this.stamps[i] as number });
    }
    all.sort((a, b) => a.stamp - b.stamp);
    for (const { key, value } of all) yield [key, value];
  }

  *values(): Generator<V> {
    for (const [, value] of this) yield value;
  }

  /** Moves the head past empty slots; drops the front of the arrays once it is most of them. */
  private advance(): void {
    const values = this.slots;
    let head = this.head;
    while (head < values.length && values[head] === undefined) head++;
    if (head === values.length) {
      this.base += head;
      this.head = 0;
      this.slots = [];
      this.stamps = [];
      return;
    }
    this.head = head;
    if (head >= 1024 && head * 2 >= values.length) {
      this.slots = values.slice(head);
      this.stamps = this.stamps.slice(head);
      this.base += head;
      this.head = 0;
    }
  }

  /** A window mostly of holes (stragglers at its front): its front half's live keys move to the stragglers. */
  private bound(): void {
    if (this.slots.length <= 2 * this.windowLive + SLACK) return;
    this.evict(this.head + ((this.slots.length - this.head) >> 1));
    this.advance();
  }

  /** Moves the live keys of the window's slots before `end` to the stragglers (they keep their place in the order). */
  private evict(end: number): void {
    for (let i = this.head; i < end; i++) {
      const value = this.slots[i];
      if (value === undefined) continue;
      this.stragglers.set(this.base + i, { value, stamp: this.stamps[i] as number });
      this.slots[i] = undefined;
      this.windowLive--;
    }
    this.head = Math.max(this.head, Math.min(end, this.slots.length));
  }
}
