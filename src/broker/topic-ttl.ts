import { KeyedHeap } from "./keyed-heap.ts";
import type { TopicIndex } from "./topic-index.ts";

/**
 * Per-message TTL (docs/messaging.md): topics whose oldest retained message has an expiry, ordered by it, so that
 * each time the state machine's clock moves only the topic whose head expires first is looked at. An expired message
 * behind one that has not expired stays stored (offsets are contiguous) but is never delivered; it goes once it is
 * the oldest, however the messages before it went (their TTL, the retention limits, a purge): every head drop
 * calls `headChanged`. Ties come out in any order: a topic's drops depend only on its own messages and the time.
 */
export class TtlHeap {
  private readonly heap = new KeyedHeap<TopicIndex>({
    key: (topic) => topic.headExpiry,
    position: (topic) => topic.ttlPos,
    place: (topic, at) => {
      topic.ttlPos = at;
    },
  });

  get size(): number {
    return this.heap.size;
  }

  /** The topic's head changed (a message was added to an empty topic, or heads were dropped): reorder it. */
  headChanged(topic: TopicIndex): void {
    const expires = topic.headExpiry < Infinity;
    if (!this.heap.has(topic)) {
      if (expires) this.heap.insert(topic);
    } else if (expires) this.heap.update(topic);
    else this.heap.remove(topic);
  }

  /** Drops, topic by topic, every head message whose expiry is at or before `now`; `dropped` hears of each topic. */
  expire(now: number, dropped: (topic: TopicIndex) => void): void {
    for (let topic = this.heap.top(); topic !== undefined && topic.headExpiry <= now; topic = this.heap.top()) {
      do topic.dropHead();
      while (topic.count > 0 && topic.headExpiry <= now);
      this.headChanged(topic);
      dropped(topic);
    }
  }

  /** Rebuilds the order from every topic's head (after a snapshot is restored). */
  rebuild(topics: readonly TopicIndex[]): void {
    this.heap.clear();
    for (const topic of topics) this.headChanged(topic);
  }
}
