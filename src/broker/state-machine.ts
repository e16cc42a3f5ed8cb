import * as v from "valibot";
import { MqraftError } from "../util/errors.ts";
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
import { admitPublish, registerProducer } from "./producer-rules.ts";
import type { ProducerWindow } from "./producer-window.ts";
import { type ApplyResult, type ErrorResult, type PublishResult, refusal } from "./results.ts";
import { RetentionEnforcer } from "./retention.ts";
import { decodeSnapshot, encodeSnapshot } from "./snapshot-codec.ts";
import { type DurableInfo, Subscriptions } from "./subscriptions.ts";
import { TopicIndex } from "./topic-index.ts";
import {
  type MessageLocation,
  type ScannedMessage,
  type ScanVisitor,
  type TopicInfo,
  TopicTable,
} from "./topic-table.ts";
import { Users } from "./users.ts";

export type { DurableInfo } from "./subscriptions.ts";
export type { MessageLocation, ScannedMessage, ScanVisitor, TopicInfo } from "./topic-table.ts";

type MessageForm = "checked" | "wire" | "command";

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
  private readonly topicTable = new TopicTable();
  private readonly dedup = new DedupWindow();
  private readonly subscriptions = new Subscriptions(
    (topic) => this.topicTable.rangeOf(topic),
    () => this.topicTable.names(),
  );
  private readonly retainer = new RetentionEnforcer();
  private readonly groupList = new Groups(
    (name) => topicView(this.topicTable.get(name)),
    () => this.topicTable.names(),
  );
  /** Who may connect as a client, and what each may do (src/auth reads it; docs/security.md). */
  readonly users = new Users();
  private applied = 0;
  private clock = 0;
  /** nextTimeChange() as of an applied index (derived, not replicated). */
  private nextChange = { index: -1, at: Infinity };
  /** Whether a config command has set the retention policy (leaders propose their flags only until then). */
  private retentionWasSet = false;
  /**
   * Hears of each publish entry applied, with its messages as the apply decoded them (checked wire tuples): a leader
   * pushing to group members takes them instead of decoding the entry again. An observer, not replicated state.
   */
  onPublishEntry: ((index: number, messages: readonly unknown[]) => void) | undefined;

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
   * Empty data is the leader's no-op. Never throws on bad data: it becomes an error result. A command of a newer
   * build (command-versions.ts) throws MqraftError UNSUPPORTED_VERSION before anything changes: the broker stops.
   */
  apply(index: number, data: Uint8Array): ApplyResult[] {
    if (data.length === 0) {
      this.advanceTo(index);
      return [];
    }
    const decoded = decodeWire(data);
    if (!decoded.ok && decoded.newer === true) throw newerEntry(index, decoded.message);
    this.advanceTo(index);
    if (!decoded.ok) return [refusal("BAD_MESSAGE", `invalid command: ${decoded.message}`)];
    return this.dispatch(index, decoded.command, decoded.checked === true ? "checked" : "wire");
  }

  /** apply() for a command already decoded; it is checked the same way. */
  applyCommand(index: number, command: Command): ApplyResult[] {
    const parsed = parseEnvelope(command);
    if (!parsed.ok && parsed.newer === true) throw newerEntry(index, parsed.message);
    this.advanceTo(index);
    if (!parsed.ok) return [refusal("BAD_MESSAGE", `invalid command: ${parsed.message}`)];
    return this.dispatch(index, parsed.command, "command");
  }

  topics(): string[] {
    return this.topicTable.names();
  }

  /** Topics ever created; topic ids run from 0 to this, in creation order. */
  get topicCount(): number {
    return this.topicTable.list.length;
  }

  /** The name of the topic created `id`-th (0 first). */
  topicName(id: number): string {
    return this.topicTable.nameOf(id);
  }

  topicInfo(topic: string): TopicInfo | undefined {
    return this.topicTable.info(topic);
  }

  /**
   * The names of the topics that got messages since the last call, each once, for the node's push streams (which
   * then read only those). Not part of the replicated state: an observer's bookmark.
   */
  takeAppended(): string[] {
    return this.topicTable.takeAppended();
  }

  /** The offset the next message of `topic` gets (0 for a topic never published to). */
  nextOffsetOf(topic: string): number {
    return this.topicTable.rangeOf(topic).nextOffset;
  }

  /** The offset of the first retained message of `topic` stored at or after `time` (ms); nextOffset if none. */
  offsetAtTime(topic: string, time: number): number {
    return this.topicTable.get(topic)?.offsetAtTime(time) ?? 0;
  }

  /** "dropped": removed by retention; "future": not published yet (also for a topic never published to). */
  locate(topic: string, offset: number): MessageLocation | "dropped" | "future" {
    return this.topicTable.locate(topic, offset);
  }

  /**
   * Up to `limit` retained messages from `fromOffset` on, oldest first. Starts at firstOffset when
   * fromOffset was dropped: compare the first offset returned with the one asked for.
   */
  scan(topic: string, fromOffset: number, limit: number): ScannedMessage[] {
    return this.topicTable.scan(topic, fromOffset, limit, this.clock);
  }

  /**
   * Tells `visitor` of each retained message from `fromOffset` (or firstOffset, if it was dropped) up to `toOffset`
   * (excluded), oldest first: scan() without an object per message, for the group pushes.
   */
  visit(topic: string, fromOffset: number, toOffset: number, visitor: ScanVisitor): void {
    this.topicTable.visit(topic, fromOffset, toOffset, this.clock, visitor);
  }

  durable(name: string): DurableInfo | undefined {
    return this.subscriptions.info(name);
  }

  /** The subscriber a durable subscription belongs to now (undefined for none, or no such subscription). */
  durableHolder(name: string): string | undefined {
    return this.subscriptions.get(name)?.holder;
  }

  /** In creation order. */
  durables(): DurableInfo[] {
    return this.subscriptions.infos();
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

  /** The dedup window's producers and remembered seqs (20 bytes each), for /metrics (docs/memory.md). */
  get dedupUse(): { producers: number; seqs: number } {
    return { producers: this.dedup.producerCount, seqs: this.dedup.seqCount };
  }

  /**
   * The smallest log index that still holds a retained message; undefined when no message is
   * retained. Everything else the state machine needs is in its snapshot, so a snapshot at
   * appliedIndex plus the log from this index on is enough to serve every retained message.
   * O(topics): meant for compaction decisions, not for every entry.
   */
  lowestNeededIndex(): number | undefined {
    return this.topicTable.lowestNeededIndex();
  }

  /**
   * The earliest time at which the time moving on would drop or expire a retained message (by a TTL or the age
   * limit); Infinity when none can. For the leader, which proposes a `tick` once it has passed on an idle cluster.
   * O(topics + messages with a TTL), computed once per applied index.
   */
  nextTimeChange(): number {
    if (this.nextChange.index !== this.applied)
      this.nextChange = { index: this.applied, at: this.retainer.nextChange(this.topicTable.list, this.clock) };
    return this.nextChange.at;
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
      topics: this.topicTable.list,
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
    for (const topic of parts.topics) state.topicTable.restore(topic);
    for (const window of parts.producers) state.dedup.restore(window);
    for (const record of parts.durables) state.subscriptions.restore(record);
    state.groupList.restore(parts.groups);
    for (const user of parts.users) state.users.restore(user);
    state.retainer.set(parts.retention, state.topicTable.list, state.clock);
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
        if (form === "checked") this.onPublishEntry?.(index, command.messages);
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
        this.retainer.set(command.retention, this.topicTable.list, this.clock);
        return [{ type: "config", retention: this.retention() }];
      case "register":
        return [
          registerProducer(this.dedup, index, command.producer, command.session, this.clock, command.v !== undefined),
        ];
      case "purge":
        return [this.purge(command.topic, command.keep)];
      case "tick":
        return [{ type: "tick" }];
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
    const topic = this.topicTable.get(name);
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
      const answered = admitPublish(this.dedup, window, epoch, seq, low, this.topicNameOf);
      if (answered !== undefined) return answered;
    }
    const topic = this.topicTable.getOrCreate(topicName, this.topicCreated);
    if (!(topic instanceof TopicIndex)) return topic;
    const offset = topic.append(index, slot, size, this.clock);
    this.topicTable.appendedTo(topic);
    if (this.groupList.size > 0) this.groupList.appended(topic.name, offset);
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

  private readonly topicNameOf = (id: number): string => this.topicTable.nameOf(id);
  private readonly topicCreated = (name: string): void => this.subscriptions.topicCreated(name);

  /** Time only moves forward: a new leader whose clock is behind the old one's does not turn it back. */
  private tick(time: number): void {
    if (time <= this.clock) return;
    this.clock = time;
    this.dedup.expire(time);
    this.retainer.expire(time);
    this.groupList.expire(time);
  }
}

/**
 * A committed entry this build cannot apply (command-versions.ts): applying it as invalid would make this replica
 * differ from those that apply it, so the broker stops before it, its state and log untouched.
 */
function newerEntry(index: number, why: string): MqraftError {
  return new MqraftError(
    "UNSUPPORTED_VERSION",
    `cannot apply entry ${index}: ${why}. This broker stops here rather than differ from the brokers that apply it: upgrade it and start it again (its log is intact; it applies the entry then)`,
  );
}
