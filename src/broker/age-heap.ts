import type { TopicIndex } from "./topic-index.ts";

/**
 * Non-empty topics ordered by the time of their oldest message, so that age retention looks only
 * at the topic whose head is oldest instead of at every topic on every command. Ties may come
 * out in any order: each topic's drops depend only on its own messages and the time, never on
 * which topic is visited first, so replicas with differently shaped heaps still agree.
 */
export class AgeHeap {
  private readonly items: TopicIndex[] = [];

  get size(): number {
    return this.items.length;
  }

  top(): TopicIndex | undefined {
    return this.items[0];
  }

  insert(topic: TopicIndex): void {
    topic.heapPos = this.items.length;
    this.items.push(topic);
    this.up(topic.heapPos);
  }

  remove(topic: TopicIndex): void {
    const at = topic.heapPos;
    const last = this.items.pop() as TopicIndex;
    topic.heapPos = -1;
    if (last === topic) return;
    this.items[at] = last;
    last.heapPos = at;
    this.down(at);
    this.up(last.heapPos);
  }

  /** The topic's head time grew (its oldest message was dropped). */
  headDropped(topic: TopicIndex): void {
    if (topic.count === 0) this.remove(topic);
    else this.down(topic.heapPos);
  }

  /** Empties the heap and clears every topic's position. */
  clear(): void {
    for (const topic of this.items) topic.heapPos = -1;
    this.items.length = 0;
  }

  private up(at: number): void {
    const items = this.items;
    const topic = items[at] as TopicIndex;
    while (at > 0) {
      const parentAt = (at - 1) >> 1;
      const parent = items[parentAt] as TopicIndex;
      if (parent.headTime <= topic.headTime) break;
      items[at] = parent;
      parent.heapPos = at;
      at = parentAt;
    }
    items[at] = topic;
    topic.heapPos = at;
  }

  private down(at: number): void {
    const items = this.items;
    const n = items.length;
    const topic = items[at] as TopicIndex;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= n) break;
      const right = child + 1;
      if (right < n && (items[right] as TopicIndex).headTime < (items[child] as TopicIndex).headTime) child = right;
      const smaller = items[child] as TopicIndex;
      if (smaller.headTime >= topic.headTime) break;
      items[at] = smaller;
      smaller.heapPos = at;
      at = child;
    }
    items[at] = topic;
    topic.heapPos = at;
  }
}
