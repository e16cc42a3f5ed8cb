import { AgeHeap } from "./age-heap.ts";
import type { Retention } from "./commands.ts";
import type { TopicIndex } from "./topic-index.ts";
import { TtlHeap } from "./topic-ttl.ts";

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
  /** Topics whose oldest message has a TTL (topic-ttl.ts). */
  private readonly ttl = new TtlHeap();
  private readonly ttlDropped = (topic: TopicIndex): void => this.ageHeap?.headDropped(topic);
  /** The state machine's time as last given (expire, set): expired messages that become the oldest go at once. */
  private now = 0;

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
    this.ttl.rebuild(topics);
    for (const topic of topics) this.enforceSize(topic);
    this.expire(now);
  }

  /** Call after a message with a TTL was appended to `topic` (it may be the topic's oldest). */
  expiring(topic: TopicIndex): void {
    this.ttl.headChanged(topic);
  }

  /** Call after each message appended to `topic`. */
  added(topic: TopicIndex): void {
    if (topic.count === 1) this.ageHeap?.insert(topic);
    this.enforceSize(topic);
  }

  /**
   * Drops every message whose age (`now` minus the time it was stored) has reached maxAgeMs, and every oldest message
   * whose TTL has run out.
   */
  expire(now: number): void {
    this.now = now;
    if (this.ttl.size > 0) this.ttl.expire(now, this.ttlDropped);
    const heap = this.ageHeap;
    const maxAgeMs = this.policy.maxAgeMs;
    if (heap === undefined || maxAgeMs === undefined) return;
    const horizon = now - maxAgeMs;
    for (let topic = heap.top(); topic !== undefined && topic.headTime <= horizon; topic = heap.top()) {
      do topic.dropHead();
      while (topic.count > 0 && topic.headTime <= horizon);
      heap.headDropped(topic);
      this.ttl.headChanged(topic);
    }
    // the drops above may have brought expired messages to the head
    if (this.ttl.size > 0) this.ttl.expire(now, this.ttlDropped);
  }

  /**
   * The earliest time after `now` at which a retained message expires (its TTL) or passes the age limit; Infinity
   * when none will. Looks at every message with a TTL, not only the topics' oldest: one behind an older message is
   * not dropped then, but it is no longer delivered.
   */
  nextChange(topics: readonly TopicIndex[], now: number): number {
    const oldest = this.ageHeap?.top();
    let next =
      oldest === undefined || this.policy.maxAgeMs === undefined ? Infinity : oldest.headTime + this.policy.maxAgeMs;
    for (const topic of topics) {
      if (topic.expiry === undefined) continue;
      for (const at of topic.expiry.values()) if (at > now && at < next) next = at;
    }
    return next;
  }

  /** Call after messages were dropped from the head of `topic` by other means (a purge). */
  headsDropped(topic: TopicIndex): void {
    this.ageHeap?.headDropped(topic);
    this.headChanged(topic);
  }

  /** The oldest message of `topic` changed: if it has expired, it and those after it that have go too. */
  private headChanged(topic: TopicIndex): void {
    this.ttl.headChanged(topic);
    if (topic.headExpiry <= this.now) this.ttl.expire(this.now, this.ttlDropped);
  }

  /** The newest message is never dropped for bytes, so a topic keeps its latest message however large. */
  private enforceSize(topic: TopicIndex): void {
    const { maxMessages, maxBytes } = this;
    if (topic.count <= maxMessages && (topic.bytes <= maxBytes || topic.count <= 1)) return;
    do topic.dropHead();
    while (topic.count > maxMessages || (topic.bytes > maxBytes && topic.count > 1));
    this.ageHeap?.headDropped(topic);
    this.headChanged(topic);
  }
}
