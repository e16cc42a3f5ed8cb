import { type WireMessage, wireHeaders } from "../broker/command-codec.ts";
import type { Group } from "../broker/groups/group.ts";
import { type Delivery, type Member, seqOf } from "../broker/groups/group-records.ts";
import type { BrokerState, ScanVisitor } from "../broker/state-machine.ts";
import type { MqraftError } from "../util/errors.ts";
import type { HeaderPairs } from "../util/message-headers.ts";
import { GroupRunPush } from "../wire/group-run-push.ts";
import type {
  GroupMessage,
  GroupMessageItem,
  GroupMessages,
  GroupPing,
  GroupRun,
  GroupRunItem,
  SubscriptionEnded,
} from "../wire/index.ts";

/**
 * The messages of log entry `index`, by slot, as their checked wire tuples (decoded once for all the members a broker
 * serves, group-service.ts).
 */
export type EntryMessages = (index: number) => readonly (WireMessage | undefined)[];
const NO_MESSAGES: readonly (WireMessage | undefined)[] = [];

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
  return runMessageBytes(item.data, item.headers);
}

function runMessageBytes(data: Uint8Array, headers: HeaderPairs | undefined): number {
  return data.length + 32 + (headers === undefined ? 0 : headersBytes(headers));
}

/** At most the bytes of a message's headers in a push (a function of its own: most messages have none). */
function headersBytes(headers: HeaderPairs): number {
  let bytes = 16;
  for (const [key, value] of headers) bytes += 3 * (key.length + value.length) + 8;
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
export class GroupConsumer implements ScanVisitor {
  private seenMember: Member | undefined;
  /** How many of the member's assignments (counted from its first) this consumer has gone over. */
  private seen = 0;
  delivered = 0;
  /** The messages of this pump not sent yet, and their bytes (a member that takes batches). */
  private batch: GroupMessageItem[] = [];
  private batchBytes = 0;
  /** The run of this pump not sent yet (a member that takes runs), and its bytes. */
  private run: GroupRunPush | undefined;
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
      this.takeHeld(state, read, group, member, -1);
      this.seenMember = member;
    } else if (this.seen < member.assignedBase) {
      // the assignments it had not gone over were trimmed: those it still holds are found by their place
      this.takeHeld(state, read, group, member, this.seen);
    } else {
      for (let i = this.seen - member.assignedBase; i < member.assigned.length; i++) {
        const key = member.assigned[i] as number;
        const delivery = group.outstanding.get(key);
        // a key handed out again since (after a nak) is pushed at its latest place only
        if (delivery?.member !== member || seqOf(delivery, key) !== member.assignedBase + i) continue;
        this.take(state, read, group, key, delivery);
      }
    }
    this.offerRun(state, read, group.topic);
    this.seen = end;
    this.sendRun();
    this.sendBatch();
    return member;
  }

  /**
   * Pushes the deliveries `member` holds from its assignment `since` on (by their place among its assignments), in
   * the order handed out. Apart from pump, which runs for every message: a rare path, kept out of the code the JIT
   * compiles for it.
   */
  private takeHeld(state: BrokerState, read: EntryMessages, group: Group, member: Member, since: number): void {
    for (const key of group.heldBy(member)) {
      const delivery = group.outstanding.get(key);
      if (delivery !== undefined && seqOf(delivery, key) >= since) this.take(state, read, group, key, delivery);
    }
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
        this.offerRun(state, read, group.topic);
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

  /** What offerRun's walk of the topic's index needs at each message (scanned). */
  private walkRead: EntryMessages = () => NO_MESSAGES;
  private walkTopic = "";
  private walkFirst = 0;
  private walkIndex = -1;
  private walkMessages = NO_MESSAGES;

  /**
   * Pushes the deliveries of offsets `runStart`, `runStart + 1`, ... of `topic`, one per attempt in `runAttempts`
   * (emptied): one walk of the topic's index for the run instead of a lookup per message, with no object made per
   * message.
   */
  private offerRun(state: BrokerState, read: EntryMessages, topic: string): void {
    const attempts = this.runAttempts;
    if (attempts.length === 0) return;
    const first = this.runStart;
    this.walkRead = read;
    this.walkTopic = topic;
    this.walkFirst = first;
    this.walkIndex = -1;
    // the walk starts at the topic's first offset if retention removed the run's first ones
    state.visit(topic, first, first + attempts.length, this);
    this.walkMessages = NO_MESSAGES;
    attempts.length = 0;
  }

  /** One message of the run offerRun walks over. */
  scanned(offset: number, index: number, slot: number, time: number, expired: boolean): void {
    // removed by retention or past its TTL since: the delivery expires and the group counts it dropped
    if (expired) return;
    if (index !== this.walkIndex) {
      this.walkIndex = index;
      this.walkMessages = this.walkRead(index);
    }
    const message = this.walkMessages[slot];
    if (message === undefined) return;
    const attempt = this.runAttempts[offset - this.walkFirst] as number;
    const topic = this.walkTopic;
    if (this.runs) this.emitInRun(topic, offset, attempt, message, time);
    else this.emit(topic, offset, attempt, message, time);
  }

  /** Sends one message to the member, in the batch being gathered or (large, or to a member without) alone. */
  private emit(topic: string, offset: number, attempt: number, message: WireMessage, time: number, key?: number): void {
    // what was gathered before goes first
    this.sendRun();
    const headers = wireHeaders(message);
    const item: GroupMessageItem = { topic, offset, attempt, data: message[1], time };
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
  private emitInRun(topic: string, offset: number, attempt: number, message: WireMessage, time: number): void {
    const data = message[1];
    const headers = wireHeaders(message);
    const bytes = runMessageBytes(data, headers);
    if (runHeadBytes(topic) + bytes > BATCH_BYTES) return this.emit(topic, offset, attempt, message, time);
    let run = this.run;
    if (
      run === undefined ||
      offset !== run.offset + run.length ||
      attempt !== run.attempt ||
      topic !== run.topic ||
      this.runBytes + bytes > BATCH_BYTES
    )
      run = this.startRun(topic, offset, attempt);
    run.add(data, time, headers);
    this.runBytes += bytes;
    this.delivered++;
  }

  /** Sends what was gathered (it goes first) and starts a run at `offset`. */
  private startRun(topic: string, offset: number, attempt: number): GroupRunPush {
    this.sendRun();
    this.sendBatch();
    const run = new GroupRunPush(this.id, topic, offset, attempt);
    this.run = run;
    this.runBytes = runHeadBytes(topic);
    return run;
  }

  /** Sends the run gathered, if any, as one push. */
  private sendRun(): void {
    if (this.run === undefined) return;
    this.sink.send(this.run);
    this.run = undefined;
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
