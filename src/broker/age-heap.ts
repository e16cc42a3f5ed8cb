import { KeyedHeap } from "./keyed-heap.ts";
import type { TopicIndex } from "./topic-index.ts";

/**
 * Non-empty topics ordered by the time of their oldest message, so that age retention looks only
 * at the topic whose head is oldest instead of at every topic on every command.
 */
export class AgeHeap extends KeyedHeap<TopicIndex> {
  constructor() {
    super({
      key: (topic) => topic.headTime,
      position: (topic) => topic.heapPos,
      place: (topic, at) => {
        topic.heapPos = at;
      },
    });
  }

  /** The topic's head time grew (its oldest message was dropped). */
  headDropped(topic: TopicIndex): void {
    if (topic.count === 0) this.remove(topic);
    else this.update(topic);
  }
}
