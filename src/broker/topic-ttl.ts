import type { TopicIndex } from "./topic-index.ts";

/**
 * Per-message TTL (docs/messaging.md): topics whose oldest retained message has an expiry, ordered by it, so that
 * each time the state machine's clock moves only the topic whose head expires first is looked at. An expired message
 * behind one that has not expired stays stored (offsets are contiguous) but is never delivered; it goes once it is
 * the oldest, however the messages before it went (their TTL, the retention limits, a purge): every head drop
 * calls `headChanged`. Ties come out in any order: a topic's drops depend only on its own messages and the time.
 */
export class TtlHeap {
  private readonly items: TopicIndex[] = [];

  get size(): number {
    return this.items.length;
  }

  /** The topic's head changed (a message was added to an empty topic, or heads were dropped): reorder it. */
  headChanged(topic: TopicIndex): void {
    const expires = topic.headExpiry < Infinity;
    if (topic.ttlPos < 0) {
      if (expires) this.insert(topic);
      return;
    }
    if (!expires) return this.remove(topic);
    this.down(topic.ttlPos);
    this.up(topic.ttlPos);
  }

  /** Drops, topic by topic, every head message whose expiry is at or before `now`; `dropped` hears of each topic. */
  expire(now: number, dropped: (topic: TopicIndex) => void): void {
    for (let topic = this.items[0]; topic !== undefined && topic.headExpiry <= now; topic = this.items[0]) {
      do topic.dropHead();
      while (topic.count > 0 && topic.headExpiry <= now);
      this.headChanged(topic);
      dropped(topic);
    }
  }

  /** Rebuilds the order from every topic's head (after a snapshot is restored). */
  rebuild(topics: readonly TopicIndex[]): void {
    for (const topic of this.items) topic.ttlPos = -1;
    this.items.length = 0;
    for (const topic of topics) this.headChanged(topic);
  }

  private insert(topic: TopicIndex): void {
    topic.ttlPos = this.items.length;
    this.items.push(topic);
    this.up(topic.ttlPos);
  }

  private remove(topic: TopicIndex): void {
    const at = topic.ttlPos;
    const last = this.items.pop() as TopicIndex;
    topic.ttlPos = -1;
    if (last === topic) return;
    this.items[at] = last;
    last.ttlPos = at;
    this.down(at);
    this.up(last.ttlPos);
  }

  private up(at: number): void {
    const items = this.items;
    const topic = items[at] as TopicIndex;
    const key = topic.headExpiry;
    while (at > 0) {
      const parentAt = (at - 1) >> 1;
      const parent = items[parentAt] as TopicIndex;
      if (parent.headExpiry <= key) break;
      items[at] = parent;
      parent.ttlPos = at;
      at = parentAt;
    }
    items[at] = topic;
    topic.ttlPos = at;
  }

  private down(at: number): void {
    const items = this.items;
    const n = items.length;
    const topic = items[at] as TopicIndex;
    const key = topic.headExpiry;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && (items[right] as TopicIndex).headExpiry < (items[child] as TopicIndex).headExpiry) child = right;
      const smaller = items[child] as TopicIndex;
      if (smaller.headExpiry >= key) break;
      items[at] = smaller;
      smaller.ttlPos = at;
      at = child;
    }
    items[at] = topic;
    topic.ttlPos = at;
  }
}
