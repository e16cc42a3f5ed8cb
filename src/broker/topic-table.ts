import { MqraftError } from "../util/errors.ts";
import { CapUsage, newTopicRefusal, utf8Bytes } from "./caps.ts";
import type { ErrorResult } from "./results.ts";
import type { OffsetRange } from "./subscriptions.ts";
import { TopicIndex } from "./topic-index.ts";

export interface TopicInfo {
  firstOffset: number;
  nextOffset: number;
  /** Payload bytes of the retained messages. */
  bytes: number;
  /** Retained messages: nextOffset - firstOffset. */
  messages: number;
}

/** Where a retained message lives: the Raft entry and the slot within its publish batch. */
export interface MessageLocation {
  index: number;
  slot: number;
}

export interface ScannedMessage extends MessageLocation {
  offset: number;
  /** The time of the command that stored it (ms since the epoch, stamped by the leader). */
  time: number;
  /** Its TTL ran out by the state machine's time: it is never delivered (docs/messaging.md). */
  expired: boolean;
}

/** Told of each message a `visit` goes over, oldest first: a walk with no object made per message. */
export interface ScanVisitor {
  scanned(offset: number, index: number, slot: number, time: number, expired: boolean): void;
}

/** Gathers what a scan goes over as ScannedMessages. */
class ScanCollector implements ScanVisitor {
  readonly out: ScannedMessage[] = [];
  scanned(offset: number, index: number, slot: number, time: number, expired: boolean): void {
    this.out.push({ offset, index, slot, time, expired });
  }
}

const NEVER_PUBLISHED: OffsetRange = { firstOffset: 0, nextOffset: 0 };

/**
 * The state machine's topics, by name and by id (creation order), what their names take (for the caps), and the
 * queries the node asks of them: where a message is, what a topic holds, what the log must keep.
 */
export class TopicTable {
  private readonly byName = new Map<string, TopicIndex>();
  /** By id (creation order). */
  readonly list: TopicIndex[] = [];
  /** What the topics take, for their caps (caps.ts). */
  private readonly usage = new CapUsage();
  /** The topics appended to since the last takeAppended(), each once (so at most every topic), and its round. */
  private appended: string[] = [];
  private appendRound = 1;

  get(name: string): TopicIndex | undefined {
    return this.byName.get(name);
  }

  /** The topic's retained range; {0, 0} for a topic never published to. */
  rangeOf(name: string): OffsetRange {
    return this.byName.get(name) ?? NEVER_PUBLISHED;
  }

  /** The topic `name`, created if new; the refusal when creating it would pass a cap. */
  getOrCreate(name: string, created: (name: string) => void): TopicIndex | ErrorResult {
    const existing = this.byName.get(name);
    if (existing !== undefined) return existing;
    const bytes = utf8Bytes(name);
    const overCap = newTopicRefusal(this.usage, name, bytes);
    if (overCap !== undefined) return overCap;
    this.usage.add(bytes);
    const topic = new TopicIndex(name, this.list.length);
    this.add(topic);
    created(name);
    return topic;
  }

  /** A topic restored from a snapshot, in id order. */
  restore(topic: TopicIndex): void {
    this.usage.add(utf8Bytes(topic.name));
    this.add(topic);
  }

  /** `topic` got a message: listed once by the next takeAppended(). */
  appendedTo(topic: TopicIndex): void {
    if (topic.appendRound === this.appendRound) return;
    topic.appendRound = this.appendRound;
    this.appended.push(topic.name);
  }

  /** See BrokerState.takeAppended. */
  takeAppended(): string[] {
    const out = this.appended;
    this.appended = [];
    this.appendRound++;
    return out;
  }

  names(): string[] {
    return this.list.map((topic) => topic.name);
  }

  /** The name of the topic created `id`-th (0 first). */
  nameOf(id: number): string {
    const topic = this.list[id];
    if (topic === undefined) throw new MqraftError("INTERNAL", `no topic ${id}: ${this.list.length} exist`);
    return topic.name;
  }

  info(name: string): TopicInfo | undefined {
    const t = this.byName.get(name);
    if (t === undefined) return undefined;
    return { firstOffset: t.firstOffset, nextOffset: t.nextOffset, bytes: t.bytes, messages: t.count };
  }

  /** "dropped": removed by retention; "future": not published yet (also for a topic never published to). */
  locate(name: string, offset: number): MessageLocation | "dropped" | "future" {
    checkOffset(offset);
    const t = this.byName.get(name);
    if (t === undefined || offset >= t.nextOffset) return "future";
    const run = t.runOf(offset);
    if (run < 0) return "dropped";
    return { index: t.runLogIndex[run] as number, slot: t.slotAt(offset, run) };
  }

  /** See BrokerState.scan; `now` is the state machine's time, for the TTLs. */
  scan(name: string, fromOffset: number, limit: number, now: number): ScannedMessage[] {
    checkOffset(fromOffset);
    const t = this.byName.get(name);
    if (t === undefined) return [];
    const from = Math.max(fromOffset, t.firstOffset);
    const collector = new ScanCollector();
    walk(t, from, from + Math.max(0, limit), now, collector);
    return collector.out;
  }

  /** See BrokerState.visit; `now` is the state machine's time, for the TTLs. */
  visit(name: string, fromOffset: number, toOffset: number, now: number, visitor: ScanVisitor): void {
    checkOffset(fromOffset);
    const t = this.byName.get(name);
    if (t !== undefined) walk(t, Math.max(fromOffset, t.firstOffset), toOffset, now, visitor);
  }

  /** See BrokerState.lowestNeededIndex. */
  lowestNeededIndex(): number | undefined {
    let lowest = Infinity;
    for (const t of this.list) if (t.count > 0 && t.headLogIndex < lowest) lowest = t.headLogIndex;
    return lowest === Infinity ? undefined : lowest;
  }

  private add(topic: TopicIndex): void {
    this.list.push(topic);
    this.byName.set(topic.name, topic);
  }
}

/** Tells `visitor` of the retained messages of `t` from `from` (retained) up to `to` (excluded), oldest first. */
function walk(t: TopicIndex, from: number, to: number, now: number, visitor: ScanVisitor): void {
  const end = Math.min(t.nextOffset, to);
  if (from >= end) return;
  let run = t.runOf(from);
  let runEnd = t.runEnd(run);
  const ttls = t.expiry !== undefined;
  for (let offset = from; offset < end; offset++) {
    if (offset === runEnd) runEnd = t.runEnd(++run);
    const expired = ttls && t.expiredAt(offset, now);
    visitor.scanned(offset, t.runLogIndex[run] as number, t.slotAt(offset, run), t.runTime[run] as number, expired);
  }
}

function checkOffset(offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0)
    throw new MqraftError("BAD_MESSAGE", `offset must be a whole number of at least 0, not ${offset}`);
}
