import * as v from "valibot";
import { MqraftError } from "../util/errors.ts";
import { CapUsage, newTopicRefusal, utf8Bytes } from "./caps.ts";
import {
  decodeWire,
  describeIssues,
  parseEnvelope,
  parseWireMessage,
  type WireCommand,
  type WireMessage,
} from "./command-codec.ts";
import { type Command, PublishMessageSchema, type Retention } from "./commands.ts";
import { DedupWindow } from "./dedup-window.ts";
import { topicView } from "./groups/group-topic-view.ts";
import { Groups } from "./groups/groups.ts";
import { type ProducerWindow, SEQS_PER_PRODUCER } from "./producer-window.ts";
import { type ApplyResult, type ErrorResult, type PublishResult, refusal, type TopicPosition } from "./results.ts";
import { RetentionEnforcer } from "./retention.ts";
import { decodeSnapshot, encodeSnapshot } from "./snapshot-codec.ts";
import { type OffsetRange, Subscriptions } from "./subscriptions.ts";
import { TopicIndex } from "./topic-index.ts";
import { Users } from "./users.ts";

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

export interface DurableInfo {
  name: string;
  positions: TopicPosition[];
}

type MessageForm = "checked" | "wire" | "command";

const NEVER_PUBLISHED: OffsetRange = { firstOffset: 0, nextOffset: 0 };

/**
 * The broker's replicated state machine. Pure and deterministic: the same committed entries
 * applied in the same order give the same state and the same results on every replica. No
 * clock (time is the latest `time` among the commands applied), no randomness, no I/O.
 *
 * Message payloads stay in the Raft log; this keeps per topic where each retained message is
 * (log index, slot). The node reads a message back with decodeEntryMessages(entry.data)[slot],
 * and may compact the log below lowestNeededIndex().
 */
export class BrokerState {
  private readonly topicsByName = new Map<string, TopicIndex>();
  /** By id (creation order). */
  private readonly topicList: TopicIndex[] = [];
  /** What the topics take, for their caps (caps.ts). */
  private readonly topicUsage = new CapUsage();
  private readonly dedup = new DedupWindow();
  private readonly subscriptions = new Subscriptions(
    (topic) => this.topicsByName.get(topic) ?? NEVER_PUBLISHED,
    () => this.topicList.map((t) => t.name),
  );
  private readonly retainer = new RetentionEnforcer();
  private readonly groupList = new Groups((name) => topicView(this.topicsByName.get(name)));
  /** Who may connect as a client, and what each may do (src/auth reads it; docs/security.md). */
  readonly users = new Users();
  private applied = 0;
  private clock = 0;
  /** The topics appended to since the last takeAppended(), each once (so at most every topic), and its round. */
  private appended: string[] = [];
  private appendRound = 1;
  /** Whether a config command has set the retention policy (leaders propose their flags only until then). */
  private retentionWasSet = false;

  /** Log index of the last entry applied (0 before any). */
  get appliedIndex(): number {
    return this.applied;
  }

  /** The state machine's time: the latest command time applied, in ms (0 before any). */
  get time(): number {
    return this.clock;
  }

  /**
   * Applies the data of the committed Normal entry at `index`. Entries must come in increasing
   * index order; gaps are allowed (entries the node does not pass here, such as config changes).
   * Empty data is the leader's no-op. Never throws on bad data: it becomes an error result.
   */
  apply(index: number, data: Uint8Array): ApplyResult[] {
    this.advanceTo(index);
    if (data.length === 0) return [];
    const decoded = decodeWire(data);
    if (!decoded.ok) return [refusal("BAD_MESSAGE", `invalid command: ${decoded.message}`)];
    return this.dispatch(index, decoded.command, decoded.checked === true ? "checked" : "wire");
  }

  /** apply() for a command already decoded; it is checked the same way. */
  applyCommand(index: number, command: Command): ApplyResult[] {
    this.advanceTo(index);
    const parsed = parseEnvelope(command);
    if (!parsed.ok) return [refusal("BAD_MESSAGE", `invalid command: ${parsed.message}`)];
    return this.dispatch(index, parsed.command, "command");
  }

  topics(): string[] {
    return this.topicList.map((topic) => topic.name);
  }

  /** Topics ever created; topic ids run from 0 to this, in creation order. */
  get topicCount(): number {
    return this.topicList.length;
  }

  /** The name of the topic created `id`-th (0 first). */
  topicName(id: number): string {
    const topic = this.topicList[id];
    if (topic === undefined) throw new MqraftError("INTERNAL", `no topic ${id}: ${this.topicList.length} exist`);
    return topic.name;
  }

  topicInfo(topic: string): TopicInfo | undefined {
    const t = this.topicsByName.get(topic);
    if (t === undefined) return undefined;
    return { firstOffset: t.firstOffset, nextOffset: t.nextOffset, bytes: t.bytes, messages: t.count };
  }

  /**
   * The names of the topics that got messages since the last call, each once, for the node's push streams (which
   * then read only those). Not part of the replicated state: an observer's bookmark.
   */
  takeAppended(): string[] {
    const out = this.appended;
    this.appended = [];
    this.appendRound++;
    return out;
  }

  /** The offset the next message of `topic` gets (0 for a topic never published to). */
  nextOffsetOf(topic: string): number {
    return this.topicsByName.get(topic)?.nextOffset ?? 0;
  }

  /** The offset of the first retained message of `topic` stored at or after `time` (ms); nextOffset if none. */
  offsetAtTime(topic: string, time: number): number {
    return this.topicsByName.get(topic)?.offsetAtTime(time) ?? 0;
  }

  /** "dropped": removed by retention; "future": not published yet (also for a topic never published to). */
  locate(topic: string, offset: number): MessageLocation | "dropped" | "future" {
    checkOffset(offset);
    const t = this.topicsByName.get(topic);
    if (t === undefined || offset >= t.nextOffset) return "future";
    const at = t.positionOf(offset);
    if (at < 0) return "dropped";
    return { index: t.logIndex[at] as number, slot: t.slot[at] as number };
  }

  /**
   * Up to `limit` retained messages from `fromOffset` on, oldest first. Starts at firstOffset when
   * fromOffset was dropped: compare the first offset returned with the one asked for.
   */
  scan(topic: string, fromOffset: number, limit: number): ScannedMessage[] {
    checkOffset(fromOffset);
    const t = this.topicsByName.get(topic);
    if (t === undefined) return [];
    const from = Math.max(fromOffset, t.firstOffset);
    const to = Math.min(t.nextOffset, from + Math.max(0, limit));
    const out: ScannedMessage[] = [];
    for (let offset = from; offset < to; offset++) {
      const at = t.head + offset - t.firstOffset;
      out.push({
        offset,
        index: t.logIndex[at] as number,
        slot: t.slot[at] as number,
        time: t.time[at] as number,
        expired: t.expiry !== undefined && t.expiredAt(offset, this.clock),
      });
    }
    return out;
  }

  durable(name: string): DurableInfo | undefined {
    const record = this.subscriptions.get(name);
    return record === undefined ? undefined : { name, positions: this.subscriptions.positionsOf(record) };
  }

  /** The subscriber a durable subscription belongs to now (undefined for none, or no such subscription). */
  durableHolder(name: string): string | undefined {
    return this.subscriptions.get(name)?.holder;
  }

  /** In creation order. */
  durables(): DurableInfo[] {
    return Array.from(this.subscriptions.records(), (record) => ({
      name: record.name,
      positions: this.subscriptions.positionsOf(record),
    }));
  }

  /** The consumer groups (read-only outside the state machine: they change only by commands). */
  get groups(): Groups {
    return this.groupList;
  }

  retention(): Retention {
    return this.retainer.current();
  }

  /** Whether the retention policy was ever set by a config command (else it is the initial, unlimited one). */
  get retentionSet(): boolean {
    return this.retentionWasSet;
  }

  /**
   * The smallest log index that still holds a retained message; undefined when no message is
   * retained. Everything else the state machine needs is in its snapshot, so a snapshot at
   * appliedIndex plus the log from this index on is enough to serve every retained message.
   * O(topics): meant for compaction decisions, not for every entry.
   */
  lowestNeededIndex(): number | undefined {
    let lowest = Infinity;
    for (const t of this.topicList) if (t.count > 0 && t.headLogIndex < lowest) lowest = t.headLogIndex;
    return lowest === Infinity ? undefined : lowest;
  }

  /** The snapshot in one piece (a copy of snapshotParts(), for tests and tools). */
  snapshot(): Uint8Array {
    return Buffer.concat(this.snapshotParts());
  }

  /**
   * The snapshot as pieces to write one after the other, most of them views of the index's
   * columns rather than copies (snapshot-codec.ts), so taking it costs O(topics + producers).
   */
  snapshotParts(): Uint8Array[] {
    return encodeSnapshot({
      appliedIndex: this.applied,
      time: this.clock,
      retention: this.retainer.current(),
      retentionSet: this.retentionWasSet,
      topics: this.topicList,
      producers: this.dedup.windows(),
      durables: this.subscriptions.records(),
      groups: this.groupList.all(),
      users: this.users.records(),
    });
  }

  /** The state a snapshot was taken of. Throws MqraftError CORRUPT when the bytes are not a valid snapshot. */
  static restore(bytes: Uint8Array): BrokerState {
    const parts = decodeSnapshot(bytes);
    const state = new BrokerState();
    state.applied = parts.appliedIndex;
    state.clock = parts.time;
    state.retentionWasSet = parts.retentionSet;
    for (const topic of parts.topics) {
      state.topicList.push(topic);
      state.topicsByName.set(topic.name, topic);
      state.topicUsage.add(utf8Bytes(topic.name));
    }
    for (const window of parts.producers) state.dedup.restore(window);
    for (const record of parts.durables) state.subscriptions.restore(record);
    state.groupList.restore(parts.groups);
    for (const user of parts.users) state.users.restore(user);
    state.retainer.set(parts.retention, state.topicList, state.clock);
    return state;
  }

  private advanceTo(index: number): void {
    if (!Number.isSafeInteger(index) || index <= this.applied) {
      throw new MqraftError(
        "INTERNAL",
        `entry ${index} applied after entry ${this.applied}: entries are applied once each, in log order`,
      );
    }
    this.applied = index;
  }

  /** `form`: how publish messages look: valid WireMessages, unchecked WireMessages, or unchecked PublishMessages. */
  private dispatch(index: number, command: WireCommand, form: MessageForm): ApplyResult[] {
    this.tick(command.time);
    switch (command.type) {
      case "publish": {
        const results = this.publishAll(index, command.messages, form);
        if (this.groupList.size > 0) this.groupList.published(this.clock);
        return results;
      }
      case "subscribe":
        return [this.subscriptions.subscribe(command)];
      case "unsubscribe":
        return [this.subscriptions.unsubscribe(command)];
      case "seek":
        return [this.subscriptions.seek(command)];
      case "ack":
        return [this.subscriptions.ack(command)];
      case "config":
        this.retentionWasSet = true;
        this.retainer.set(command.retention, this.topicList, this.clock);
        return [{ type: "config", retention: this.retention() }];
      case "register":
        return [this.register(index, command.producer, command.session)];
      case "purge":
        return [this.purge(command.topic, command.keep)];
      case "group-join":
      case "group-leave":
      case "group-ack":
      case "group-tick":
      case "group-rm":
        return [this.groupList.apply(command, this.clock)];
      case "user-add":
      case "user-remove":
      case "user-rotate":
        return [this.users.apply(command, this.clock)];
      default:
        return command satisfies never;
    }
  }

  /** Drops the oldest messages of `topic` until at most `keep` remain, as retention does. */
  private purge(name: string, keep: number): ApplyResult {
    const topic = this.topicsByName.get(name);
    if (topic === undefined) return refusal("NOT_FOUND", `no topic ${name}: nothing was ever published to it`);
    let dropped = 0;
    while (topic.count > keep) {
      topic.dropHead();
      dropped++;
    }
    if (dropped > 0) this.retainer.headsDropped(topic);
    return { type: "purge", topic: name, dropped };
  }

  private publishAll(index: number, messages: unknown[], form: MessageForm): ApplyResult[] {
    const results: ApplyResult[] = [];
    for (let slot = 0; slot < messages.length; slot++) {
      const raw = messages[slot];
      if (form !== "command") {
        const m = form === "checked" ? (raw as WireMessage) : parseWireMessage(raw);
        if (typeof m === "string") results.push(refusal("BAD_MESSAGE", `messages[${slot}]: ${m}`));
        else if (m.length === 2) results.push(this.publishOne(index, slot, m[0], m[1].length, undefined, 0, undefined));
        else if (m.length === 3)
          results.push(this.publishOne(index, slot, m[0], m[1].length, undefined, 0, undefined, undefined, m[2].ttl));
        // by length: reading past a tuple's end takes the engine's slow path
        else if (m.length === 4) results.push(this.publishOne(index, slot, m[0], m[1].length, m[2], m[3], undefined));
        else if (m.length === 5) results.push(this.publishOne(index, slot, m[0], m[1].length, m[2], m[3], m[4]));
        else if (m.length === 7)
          results.push(
            this.publishOne(index, slot, m[0], m[1].length, m[2], m[3], m[4] ?? undefined, m[5] ?? undefined, m[6].ttl),
          );
        else results.push(this.publishOne(index, slot, m[0], m[1].length, m[2], m[3], m[4], m[5]));
      } else {
        const parsed = v.safeParse(PublishMessageSchema, raw);
        if (!parsed.success)
          results.push(refusal("BAD_MESSAGE", `messages[${slot}]: ${describeIssues(parsed.issues)}`));
        else {
          const m = parsed.output;
          results.push(
            this.publishOne(index, slot, m.topic, m.data.length, m.producer, m.seq ?? 0, m.epoch, m.low, m.ttl),
          );
        }
      }
    }
    return results;
  }

  private publishOne(
    index: number,
    slot: number,
    topicName: string,
    size: number,
    producer: string | undefined,
    seq: number,
    epoch: number | undefined,
    low?: number,
    /** ms the message lives after the time it is stored; undefined: until retention removes it. */
    ttl?: number,
  ): PublishResult | ErrorResult {
    let window: ProducerWindow | undefined;
    if (producer !== undefined) {
      window = this.dedup.touch(producer, this.clock);
      const refused = epoch === undefined ? this.unregistered(window) : this.inOrder(window, epoch, seq, low);
      if (refused !== undefined) return refused;
      const at = window.find(seq);
      if (at >= 0) {
        const original = this.topicList[window.topicId[at] as number] as TopicIndex;
        return { type: "publish", topic: original.name, offset: window.offset[at] as number, duplicate: true };
      }
      if (seq < window.nextSeq) {
        return refusal(
          "REFUSED",
          `producer ${producer} seq ${seq} is below its next seq ${window.nextSeq}: stored already (its offset no longer remembered; the dedup window keeps ${SEQS_PER_PRODUCER} seqs per producer), or given up by the client`,
        );
      }
    }
    let topic = this.topicsByName.get(topicName);
    if (topic === undefined) {
      const bytes = utf8Bytes(topicName);
      const overCap = newTopicRefusal(this.topicUsage, topicName, bytes);
      if (overCap !== undefined) return overCap;
      topic = this.createTopic(topicName, bytes);
    }
    const offset = topic.append(index, slot, size, this.clock);
    if (topic.appendRound !== this.appendRound) {
      topic.appendRound = this.appendRound;
      this.appended.push(topic.name);
    }
    if (ttl !== undefined) topic.setExpiry(offset, this.clock + ttl);
    this.retainer.added(topic);
    if (ttl !== undefined) this.retainer.expiring(topic);
    if (window !== undefined) {
      this.dedup.record(window, seq, topic.id, offset);
      if (window.epoch > 0) window.nextSeq = seq + 1;
      if (this.groupList.size > 0) this.groupList.deadLetterStored(window.id, seq, offset);
    }
    return { type: "publish", topic: topic.name, offset };
  }

  /** A publish without an epoch under a producer id that has registered is an older incarnation. */
  private unregistered(window: ProducerWindow): ErrorResult | undefined {
    if (window.epoch === 0) return undefined;
    return refusal("FENCED", `producer ${window.id} has registered (epoch ${window.epoch}); publish with its epoch`);
  }

  /**
   * A registered producer's seqs are stored in order, each the last stored + 1, so that a publish
   * refused on its way (a leadership transfer, a lost connection) cannot be overtaken by a later
   * one: the later ones are refused too, and the client resends them in order. An epoch newer than
   * the one remembered (the producer was forgotten meanwhile) starts afresh at `low`, the oldest seq
   * the client still waits for (so a later seq that arrives first is refused as for any hole), or,
   * from a client that sends no `low`, at whatever seq comes first.
   * Returns the refusal, or undefined when the publish may go on (as a new message or a duplicate).
   */
  private inOrder(
    window: ProducerWindow,
    epoch: number,
    seq: number,
    low: number | undefined,
  ): ErrorResult | undefined {
    if (epoch < window.epoch) {
      return refusal(
        "FENCED",
        `producer ${window.id} epoch ${epoch} was replaced by epoch ${window.epoch}: another client registered this producer id`,
      );
    }
    if (epoch > window.epoch) this.dedup.restart(window, epoch, low ?? seq);
    // the client acknowledged or gave up every seq below `low`: none of them is awaited any more
    if (low !== undefined && low > window.nextSeq) window.nextSeq = low;
    if (seq > window.nextSeq) {
      return refusal(
        "OUT_OF_ORDER",
        `producer ${window.id} epoch ${epoch}: seq ${seq} is ahead of the next one, ${window.nextSeq}; resend from there`,
      );
    }
    return undefined;
  }

  /**
   * A new epoch, unless `session` is the one that registered the current epoch: that register is a retry of the
   * client's own (the first attempt held up on its way and applied after the one that answered), and fencing the
   * client with its own retry would fail everything it publishes.
   */
  private register(index: number, producer: string, session: string | undefined): ApplyResult | ErrorResult {
    const window = this.dedup.touch(producer, this.clock);
    if (session !== undefined && window.epoch > 0 && window.session === session)
      return { type: "register", producer, epoch: window.epoch };
    // the incarnation the current one replaced, registering late (its process gone, or its register held up on the
    // way): a new epoch would fence the newer incarnation with the older one's request
    if (session !== undefined && window.replacedSession === session)
      return refusal("FENCED", `producer ${producer}: session ${session} was replaced by a later registration`);
    window.replacedSession = window.epoch > 0 ? window.session : undefined;
    this.dedup.restart(window, index, 0, session);
    return { type: "register", producer, epoch: index };
  }

  private createTopic(name: string, bytes: number): TopicIndex {
    this.topicUsage.add(bytes);
    const topic = new TopicIndex(name, this.topicList.length);
    this.topicList.push(topic);
    this.topicsByName.set(name, topic);
    this.subscriptions.topicCreated(name);
    return topic;
  }

  /** Time only moves forward: a new leader whose clock is behind the old one's does not turn it back. */
  private tick(time: number): void {
    if (time <= this.clock) return;
    this.clock = time;
    this.dedup.expire(time);
    this.retainer.expire(time);
    this.groupList.expire(time);
  }
}

function checkOffset(offset: number): void {
  if (!Number.isSafeInteger(offset) || offset < 0)
    throw new MqraftError("BAD_MESSAGE", `offset must be a whole number of at least 0, not ${offset}`);
}
