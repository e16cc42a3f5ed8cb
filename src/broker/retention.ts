import { AgeHeap } from "./age-heap.ts";
import type { Retention } from "./commands.ts";
import type { TopicIndex } from "./topic-index.ts";

/**
 * Applies the replicated retention policy to the topics. Count and byte limits are checked as
 * each message is added; the age limit whenever the state machine's time moves, looking only at
 * the topic whose oldest message is oldest (the heap exists only while there is an age limit).
 */
export class RetentionEnforcer {
  private policy: Retention = {};
  private maxMessages = Infinity;
  private maxBytes = Infinity;
  private ageHeap: AgeHeap | undefined;

  /** A copy of the policy in force; absent limits are unlimited. */
  current(): Retention {
    return { ...this.policy };
  }

  /** Replaces the whole policy and applies it at once to what is stored. */
  set(retention: Retention, topics: readonly TopicIndex[], now: number): void {
    const policy: Retention = {};
    if (retention.maxMessages !== undefined) policy.maxMessages = retention.maxMessages;
    if (retention.maxBytes !== undefined) policy.maxBytes = retention.maxBytes;
    if (retention.maxAgeMs !== undefined) policy.maxAgeMs = retention.maxAgeMs;
    this.policy = policy;
    this.maxMessages = policy.maxMessages ?? Infinity;
    this.maxBytes = policy.maxBytes ?? Infinity;
    this.ageHeap?.clear();
    this.ageHeap = undefined;
    if (policy.maxAgeMs !== undefined) {
      const heap = new AgeHeap();
      for (const topic of topics) if (topic.count > 0) heap.insert(topic);
      this.ageHeap = heap;
    }
    for (const topic of topics) this.enforceSize(topic);
    this.expire(now);
  }

  /** Call after each message appended to `topic`. */
  added(topic: TopicIndex): void {
    if (topic.count === 1) this.ageHeap?.insert(topic);
    this.enforceSize(topic);
  }

  /** Drops every message whose age (`now` minus the time it was stored) has reached maxAgeMs. */
  expire(now: number): void {
    const heap = this.ageHeap;
    const maxAgeMs = this.policy.maxAgeMs;
    if (heap === undefined || maxAgeMs === undefined) return;
    const horizon = now - maxAgeMs;
    for (let topic = heap.top(); topic !== undefined && topic.headTime <= horizon; topic = heap.top()) {
      do topic.dropHead();
      while (topic.count > 0 && topic.headTime <= horizon);
      heap.headDropped(topic);
    }
  }

  /** Call after messages were dropped from the head of `topic` by other means (a purge). */
  headsDropped(topic: TopicIndex): void {
    this.ageHeap?.headDropped(topic);
  }

  /** The newest message is never dropped for bytes, so a topic keeps its latest message however large. */
  private enforceSize(topic: TopicIndex): void {
    const { maxMessages, maxBytes } = this;
    if (topic.count <= maxMessages && (topic.bytes <= maxBytes || topic.count <= 1)) return;
    do topic.dropHead();
    while (topic.count > maxMessages || (topic.bytes > maxBytes && topic.count > 1));
    this.ageHeap?.headDropped(topic);
  }
}
