import { isWildcard } from "../util/topic-name.ts";
import { expandPatterns } from "../util/topic-pattern.ts";
import { CapUsage, newDurableRefusal, utf8Bytes } from "./caps.ts";
import type { AckCommand, SeekCommand, Start, SubscribeCommand, UnsubscribeCommand } from "./commands.ts";
import { type ApplyResult, refusal, type TopicPosition } from "./results.ts";
import { PatternTrie } from "./topic-trie.ts";

/** The retained offsets of a topic: [firstOffset, nextOffset). A topic never published to is {0, 0}. */
export interface OffsetRange {
  firstOffset: number;
  nextOffset: number;
  /** The offset of the first retained message stored at or after a time (ms); absent for a topic never published to. */
  offsetAtTime?(time: number): number;
}
export type RangeOf = (topic: string) => OffsetRange;

/** A durable subscription as the node lists it (`durable ls`): each position at least its topic's firstOffset. */
export interface DurableInfo {
  name: string;
  positions: TopicPosition[];
}

/** A durable subscription as stored: `positions[i]` is the next offset to deliver in `topics[i]`. */
export interface DurableRecord {
  name: string;
  topics: string[];
  positions: number[];
  /** The subscriber attached last (undefined: one that named none). */
  holder?: string;
  /**
   * The topics and patterns it was created with, when a pattern is among them: `topics` then also holds every
   * topic that matched a pattern when it subscribed or when the topic was created later (at position 0).
   */
  asked?: string[];
}

/**
 * Named (durable) subscriptions: created, acknowledged and removed only through committed
 * commands, so every broker knows where each one stands. A stored position below a topic's
 * firstOffset (retention dropped what it had not acknowledged) lists as firstOffset, but a
 * subscriber that resumes is given the stored position: it is told of the dropped offsets (a gap)
 * before the oldest retained message, never skips them in silence.
 */
export class Subscriptions {
  private readonly byName = new Map<string, DurableRecord>();
  /** What the durable subscriptions take, for their caps (caps.ts). */
  readonly usage = new CapUsage();
  /** The records that have patterns, under each of their patterns. */
  private readonly patterns = new PatternTrie<DurableRecord>();

  constructor(
    private readonly rangeOf: RangeOf,
    /** Every topic, in creation order (for the topics a new pattern subscription matches). */
    private readonly topicNames: () => Iterable<string> = () => [],
  ) {}

  get(name: string): DurableRecord | undefined {
    return this.byName.get(name);
  }

  /** In creation order. */
  records(): IterableIterator<DurableRecord> {
    return this.byName.values();
  }

  /** Adds a record restored from a snapshot; restore in creation order. */
  restore(record: DurableRecord): void {
    this.byName.set(record.name, record);
    this.usage.add(durableBytes(record.name, record.topics));
    this.watch(record);
  }

  /** A topic was created: every subscription with a pattern it matches reads it from its first message. */
  topicCreated(topic: string): void {
    if (this.patterns.size === 0) return;
    for (const record of this.patterns.matching(topic)) {
      // a topic named outright is in `topics` since the subscribe
      if (record.asked?.includes(topic)) continue;
      record.topics.push(topic);
      record.positions.push(0);
      // a pattern's topics count towards the durable subscriptions' caps as they come (never refused: the topic exists)
      this.usage.add(utf8Bytes(topic) + 8);
    }
  }

  info(name: string): DurableInfo | undefined {
    const record = this.byName.get(name);
    return record === undefined ? undefined : { name, positions: this.positionsOf(record) };
  }

  /** In creation order. */
  infos(): DurableInfo[] {
    return Array.from(this.byName.values(), (record) => ({ name: record.name, positions: this.positionsOf(record) }));
  }

  positionsOf(record: DurableRecord): TopicPosition[] {
    return record.topics.map((topic, i) => ({ topic, position: this.effective(topic, record.positions[i] as number) }));
  }

  subscribe(command: SubscribeCommand): ApplyResult {
    const topics = [...new Set(command.topics)];
    const existing = this.byName.get(command.name);
    if (existing !== undefined) {
      const had = existing.asked ?? existing.topics;
      if (!sameTopics(had, topics)) {
        return refusal(
          "REFUSED",
          `subscription "${command.name}" exists with topics ${had.join(", ")}; unsubscribe first to change them`,
        );
      }
      if (command.holder !== undefined) existing.holder = command.holder;
      const positions = existing.topics.map((topic, i) => ({ topic, position: existing.positions[i] as number }));
      return { type: "subscribe", name: command.name, created: false, positions };
    }
    const concrete = topics.some(isWildcard) ? expandPatterns(topics, this.topicNames()).topics : topics;
    const bytes = durableBytes(command.name, concrete);
    const overCap = newDurableRefusal(this.usage, command.name, bytes);
    if (overCap !== undefined) return overCap;
    this.usage.add(bytes);
    const record: DurableRecord = {
      name: command.name,
      topics: concrete,
      positions: concrete.map((topic) => startPosition(this.rangeOf(topic), command.from)),
    };
    if (command.holder !== undefined) record.holder = command.holder;
    if (concrete !== topics) record.asked = topics;
    this.byName.set(record.name, record);
    this.watch(record);
    return { type: "subscribe", name: record.name, created: true, positions: this.positionsOf(record) };
  }

  unsubscribe(command: UnsubscribeCommand): ApplyResult {
    const record = this.byName.get(command.name);
    if (record === undefined) return refusal("NOT_FOUND", `no subscription named "${command.name}"`);
    this.byName.delete(command.name);
    this.usage.remove(durableBytes(record.name, record.topics));
    for (const pattern of record.asked ?? []) if (isWildcard(pattern)) this.patterns.remove(pattern, record);
    return { type: "unsubscribe", name: command.name };
  }

  /** Moves every position to where a subscription starting at `to` would start, back or forward. */
  seek(command: SeekCommand): ApplyResult {
    const record = this.byName.get(command.name);
    if (record === undefined) return refusal("NOT_FOUND", `no subscription named "${command.name}"`);
    record.positions = record.topics.map((topic) => startPosition(this.rangeOf(topic), command.to));
    return { type: "seek", name: command.name, positions: this.positionsOf(record) };
  }

  /** Moves the position past `offset`; an ack at or below the current position changes nothing. */
  ack(command: AckCommand): ApplyResult {
    const record = this.byName.get(command.name);
    if (record === undefined) return refusal("NOT_FOUND", `no subscription named "${command.name}"`);
    if (command.holder !== undefined && record.holder !== undefined && command.holder !== record.holder) {
      return refusal("FENCED", `subscription "${command.name}" was taken over by another subscriber`);
    }
    const at = record.topics.indexOf(command.topic);
    if (at < 0) return refusal("NOT_FOUND", `subscription "${command.name}" does not include topic "${command.topic}"`);
    const { nextOffset } = this.rangeOf(command.topic);
    if (command.offset >= nextOffset) {
      return refusal(
        "REFUSED",
        `offset ${command.offset} of topic "${command.topic}" does not exist yet (next offset ${nextOffset})`,
      );
    }
    const position = Math.max(this.effective(command.topic, record.positions[at] as number), command.offset + 1);
    record.positions[at] = position;
    return { type: "ack", name: command.name, topic: command.topic, position };
  }

  private watch(record: DurableRecord): void {
    for (const pattern of record.asked ?? []) if (isWildcard(pattern)) this.patterns.add(pattern, record);
  }

  private effective(topic: string, stored: number): number {
    return Math.max(stored, this.rangeOf(topic).firstOffset);
  }
}

/** What one durable subscription counts toward MAX_DURABLE_BYTES. */
function durableBytes(name: string, topics: readonly string[]): number {
  let bytes = utf8Bytes(name);
  for (const topic of topics) bytes += utf8Bytes(topic) + 8;
  return bytes;
}

function startPosition(range: OffsetRange, from: Start): number {
  if (from === "earliest") return range.firstOffset;
  if (from === "latest") return range.nextOffset;
  if (typeof from === "object") return range.offsetAtTime?.(from.time) ?? range.nextOffset;
  return Math.min(Math.max(from, range.firstOffset), range.nextOffset);
}

function sameTopics(a: readonly string[], b: readonly string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((topic) => set.has(topic));
}
