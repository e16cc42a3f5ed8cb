import type { PublishMessage } from "../broker/commands.ts";
import type { Group } from "../broker/groups/group.ts";
import { type Delivery, type Member, seqOf } from "../broker/groups/group-records.ts";
import type { BrokerState } from "../broker/state-machine.ts";
import type { MqraftError } from "../util/errors.ts";
import type {
  GroupMessage,
  GroupMessageItem,
  GroupMessages,
  GroupPing,
  GroupRun,
  GroupRunItem,
  SubscriptionEnded,
} from "../wire/index.ts";

/** The messages of log entry `index`, by slot (decoded once for all the members a broker serves, group-service.ts). */
export type EntryMessages = (index: number) => readonly (PublishMessage | undefined)[];

/**
 * Bytes one `group-messages` push carries at most (an upper bound of its encoding): far below any frame limit, and
 * enough that a frame's own cost is spread over many messages. A message larger than this goes alone, as a
 * `group-message`, as it did before batches.
 */
export const BATCH_BYTES = 256 * 1024;

/** At most the bytes `item` takes in a push: its data, its topic and headers at 3 bytes a UTF-16 unit, keys, numbers. */
export function itemBytes(item: GroupMessageItem): number {
  let bytes = item.data.length + 3 * item.topic.length + 96;
  if (item.headers !== undefined) for (const [key, value] of item.headers) bytes += 3 * (key.length + value.length) + 8;
  return bytes;
}

/** At most the bytes one message of a `group-run` push takes: its data and headers, keys and numbers. */
export function runItemBytes(item: GroupRunItem): number {
  let bytes = item.data.length + 32;
  if (item.headers !== undefined) {
    bytes += 16;
    for (const [key, value] of item.headers) bytes += 3 * (key.length + value.length) + 8;
  }
  return bytes;
}

/** At most the bytes of a `group-run` push but its messages. */
export function runHeadBytes(topic: string): number {
  return 3 * topic.length + 96;
}

/** Where a member's messages go: its client connection. */
export interface GroupSink {
  send(message: GroupMessage | GroupMessages | GroupRun | GroupPing | SubscriptionEnded): boolean;
  readonly isOpen: boolean;
}

/**
 * One member of a consumer group connected to this broker: pushes each message the replicated group state assigns
 * to the member, once per delivery (a redelivery to the same member is a new attempt and is pushed again). What it
 * may hold is bounded by the group's maxPending and bytes per member, so no other flow control is needed.
 */
export class GroupConsumer {
  private seenMember: Member | undefined;
  /** How many of the member's assignments (counted from its first) this consumer has gone over. */
  private seen = 0;
  delivered = 0;
  /** The messages of this pump not sent yet, and their bytes (a member that takes batches). */
  private batch: GroupMessageItem[] = [];
  private batchBytes = 0;
  /** The run of this pump not sent yet (a member that takes runs): its topic, first offset, attempt and bytes. */
  private run: GroupRunItem[] = [];
  private runTopic = "";
  private runFirst = 0;
  private runAttempt = 0;
  private runBytes = 0;

  constructor(
    readonly id: number,
    readonly group: string,
    readonly member: string,
    private readonly sink: GroupSink,
    /** The member takes `group-messages` pushes (its consume asked for them). */
    private readonly batched = false,
    /** The member takes `group-run` pushes too (its consume asked for them). */
    private readonly runs = false,
  ) {}

  get isOpen(): boolean {
    return this.sink.isOpen;
  }

  /**
   * Pushes what the member was assigned since this consumer last looked, each delivery once: by its place among the
   * member's assignments (Delivery.seq), so no record per message pushed is kept. Returns the member's record, or
   * undefined when the group no longer has it (removed, or the group deleted).
   */
  pump(state: BrokerState, read: EntryMessages): Member | undefined {
    const group = state.groups.get(this.group);
    const member = group?.members.get(this.member);
    if (group === undefined || member === undefined || !this.sink.isOpen) return member;
    const end = member.assignedBase + member.assigned.length;
    if (member !== this.seenMember) {
      // this consumer's first look, or a new record (the member joined again, a snapshot was installed): every
      // delivery it holds is one this consumer has not pushed
      for (const key of group.heldBy(member)) this.take(state, read, group, key, group.outstanding.get(key));
      this.seenMember = member;
    } else if (this.seen < member.assignedBase) {
      // the assignments it had not gone over were trimmed: those it still holds are found by their place
      for (const key of group.heldBy(member)) {
        const delivery = group.outstanding.get(key);
        if (delivery !== undefined && seqOf(delivery, key) >= this.seen) this.take(state, read, group, key, delivery);
      }
    } else {
      for (let i = this.seen - member.assignedBase; i < member.assigned.length; i++) {
        const key = member.assigned[i] as number;
        const delivery = group.outstanding.get(key);
        // a key handed out again since (after a nak) is pushed at its latest place only
        if (delivery?.member !== member || seqOf(delivery, key) !== member.assignedBase + i) continue;
        this.take(state, read, group, key, delivery);
      }
    }
    this.offerRun(state, read, group.topic, this.runStart, this.runAttempts);
    this.seen = end;
    this.sendRun();
    this.sendBatch();
    return member;
  }

  /**
   * The first offset and the attempts of the run of consecutive offsets being gathered by pump (reused: a pump
   * gathers one run at a time), looked up in their topic together.
   */
  private runStart = 0;
  private readonly runAttempts: number[] = [];

  /**
   * Pushes one delivery the member holds: in a group on one topic as part of the run of offsets being gathered, in a
   * group on a pattern alone (its keys are the group's own numbers, its messages in several topics).
   */
  private take(
    state: BrokerState,
    read: EntryMessages,
    group: Group,
    key: number,
    delivery: Delivery | undefined,
  ): void {
    if (delivery === undefined) return;
    if (group.feed === undefined) {
      const attempts = this.runAttempts;
      if (attempts.length === 0 || key !== this.runStart + attempts.length) {
        this.offerRun(state, read, group.topic, this.runStart, attempts);
        this.runStart = key;
      }
      attempts.push(delivery.attempt);
      return;
    }
    const where = group.locate(key);
    if (where === undefined) return;
    const { topic, offset } = where;
    const [at] = state.scan(topic, offset, 1);
    // removed by retention or past its TTL since: the delivery expires and the group counts it dropped
    if (at === undefined || at.offset !== offset || at.expired) return;
    const message = read(at.index)[at.slot];
    if (message === undefined) return;
    this.emit(topic, offset, delivery.attempt, message, at.time, key);
  }

  /**
   * Pushes the deliveries of offsets `first`, `first + 1`, ... of `topic`, one per attempt in `attempts` (emptied):
   * one scan of the topic's index for the run instead of one per message.
   */
  private offerRun(state: BrokerState, read: EntryMessages, topic: string, first: number, attempts: number[]): void {
    if (attempts.length === 0) return;
    let index = -1;
    let messages: readonly (PublishMessage | undefined)[] = [];
    for (const at of state.scan(topic, first, attempts.length)) {
      // the scan starts at the topic's first offset if retention removed the run's first ones, and goes on as many:
      // the offsets past the run are not this member's
      if (at.offset - first >= attempts.length) break;
      // removed by retention or past its TTL since: the delivery expires and the group counts it dropped
      if (at.expired) continue;
      if (at.index !== index) {
        index = at.index;
        messages = read(index);
      }
      const message = messages[at.slot];
      if (message === undefined) continue;
      const attempt = attempts[at.offset - first] as number;
      if (this.runs) this.emitInRun(topic, at.offset, attempt, message, at.time);
      else this.emit(topic, at.offset, attempt, message, at.time);
    }
    attempts.length = 0;
  }

  /** Sends one message to the member, in the batch being gathered or (large, or to a member without) alone. */
  private emit(
    topic: string,
    offset: number,
    attempt: number,
    message: PublishMessage,
    time: number,
    key?: number,
  ): void {
    // what was gathered before goes first
    this.sendRun();
    const { data, headers } = message;
    const item: GroupMessageItem = { topic, offset, attempt, data, time };
    if (headers !== undefined) item.headers = headers;
    if (key !== undefined) item.key = key;
    this.delivered++;
    const bytes = itemBytes(item);
    if (!this.batched || bytes > BATCH_BYTES) {
      this.sendBatch();
      this.sink.send({ type: "group-message", subscription: this.id, ...item });
      return;
    }
    if (this.batchBytes + bytes > BATCH_BYTES) this.sendBatch();
    this.batch.push(item);
    this.batchBytes += bytes;
  }

  /**
   * Adds one delivery to the run being gathered (a member that takes runs): a message that does not follow the run's
   * last in its topic with the same attempt, or that would take the push past BATCH_BYTES, starts another; one larger
   * than that goes alone, as a `group-message`.
   */
  private emitInRun(topic: string, offset: number, attempt: number, message: PublishMessage, time: number): void {
    const { data, headers } = message;
    const item: GroupRunItem = { data, time };
    if (headers !== undefined) item.headers = headers;
    const bytes = runItemBytes(item);
    if (runHeadBytes(topic) + bytes > BATCH_BYTES) return this.emit(topic, offset, attempt, message, time);
    const run = this.run;
    if (
      run.length > 0 &&
      (offset !== this.runFirst + run.length ||
        attempt !== this.runAttempt ||
        topic !== this.runTopic ||
        this.runBytes + bytes > BATCH_BYTES)
    )
      this.sendRun();
    if (this.run.length === 0) {
      // what was gathered before goes first
      this.sendBatch();
      this.runTopic = topic;
      this.runFirst = offset;
      this.runAttempt = attempt;
      this.runBytes = runHeadBytes(topic);
    }
    this.run.push(item);
    this.runBytes += bytes;
    this.delivered++;
  }

  /** Sends the run gathered, if any, as one push. */
  private sendRun(): void {
    if (this.run.length === 0) return;
    const push: GroupRun = {
      type: "group-run",
      subscription: this.id,
      topic: this.runTopic,
      offset: this.runFirst,
      attempt: this.runAttempt,
      messages: this.run,
    };
    this.sink.send(push);
    this.run = [];
    this.runBytes = 0;
  }

  /** Sends the messages gathered, if any, as one push. */
  private sendBatch(): void {
    if (this.batch.length === 0) return;
    this.sink.send({ type: "group-messages", subscription: this.id, messages: this.batch });
    this.batch = [];
    this.batchBytes = 0;
  }

  /** Command time of the last ping (group-service.ts). */
  pingedAt = 0;

  /** Asks the member to say it is there (its member is stale and the group has messages waiting). */
  ping(): void {
    if (this.sink.isOpen) this.sink.send({ type: "group-ping", subscription: this.id });
  }

  /** Tells the client nothing more comes on this stream. */
  end(error: MqraftError): void {
    if (this.sink.isOpen)
      this.sink.send({ type: "ended", subscription: this.id, code: error.code, message: error.message });
  }
}
