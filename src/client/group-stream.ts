import * as v from "valibot";
import { firstIssue } from "../util/config-values.ts";
import { MqraftError } from "../util/errors.ts";
import { MessageHeaders } from "../util/message-headers.ts";
import {
  type Consume,
  ConsumeSchema,
  type GroupMessage,
  type GroupMessageItem,
  type GroupMessages,
  type GroupPing,
  type GroupRun,
  type Push,
} from "../wire/index.ts";
import { isRetryable } from "./client-errors.ts";
import { backoffMs, now, remaining, sleep } from "./deadline.ts";
import { Batch, Held } from "./group-held.ts";
import { asRanges, GroupSettles, MAX_PER_REQUEST, type SettleKind } from "./group-settles.ts";
import { LeaderLink } from "./leader-link.ts";
import { MessageBuffer } from "./message-buffer.ts";
import type { RequestChannel } from "./request-channel.ts";
import type { ServerPool } from "./server-pool.ts";

export interface ConsumeOptions {
  /** The consumer group: each message of the topic goes to one of its live members. */
  group: string;
  /** This member's name, kept across reconnects; random unless given. */
  member?: string;
  /** For a new group: how long a member may hold a message unacknowledged before it goes to another (default 30 s). */
  ackWaitMs?: number;
  /** For a new group: deliveries of a message at most before it goes to the dead-letter topic (default 5). */
  maxDeliver?: number;
  /** For a new group: the dead-letter topic (default `<topic>.dlq`). */
  deadLetter?: string;
  /** For a new group: messages one member holds unacknowledged at most (default 1000). */
  maxPending?: number;
  /** For a new group: start at the topic's oldest retained message (the default) or after its newest. */
  from?: "earliest" | "latest";
}

/** A message of a work queue, held by this member until it settles it. */
export interface ConsumedMessage {
  topic: string;
  offset: number;
  /** 1 on its first delivery to any member of the group, 2 on the first redelivery, ... */
  attempt: number;
  data: Uint8Array;
  /** When the leader proposed the message, in ms since the epoch (undefined from a broker that does not say). */
  time: number | undefined;
  /** The message's headers (read-only; empty when it has none). */
  headers: MessageHeaders;
  /** Done: the group never delivers it again. Resolves once the ack is committed; rejects if it came too late. */
  ack(): Promise<void>;
  /** Failed: the group delivers it again at once (to any member), or dead-letters it after maxDeliver deliveries. */
  nak(): Promise<void>;
  /** Still working on it: its ack wait starts again. */
  inProgress(): Promise<void>;
}

/**
 * Messages of a work queue taken together (`fetch`, `batches`): settled as one with the batch's own methods, whose
 * promise resolves once every message of it is settled (one request, one promise, however many messages), or one by
 * one with each message's. Use one or the other for a message: settling it twice is refused.
 */
export interface ConsumedBatch {
  readonly messages: readonly ConsumedMessage[];
  /** Acks every message of the batch; rejects (REFUSED) if any of them was no longer this member's. */
  ack(): Promise<void>;
  /** Naks every message of the batch. */
  nak(): Promise<void>;
  /** Restarts the ack wait of every message of the batch. */
  inProgress(): Promise<void>;
}

export interface FetchOptions {
  /** Messages one batch holds at most (default and most: 1000, what one settle request carries). */
  max?: number;
}

interface Context {
  pool: ServerPool;
  timeoutMs: number;
  resumeTimeoutMs: number;
  ended: (stream: GroupStream) => void;
}

type Kind = SettleKind;

/**
 * One member of a consumer group, as an async iterator of its messages. It talks to the leader (which keeps the
 * group's state through the Raft log); when the leader changes or the connection drops it joins the new leader
 * under the same member name, where it still holds what it held, and drops re-sent copies of messages it already
 * has. At most maxPending messages are out to it at once, so its buffer is bounded by the group.
 */
export class GroupStream implements AsyncIterableIterator<ConsumedMessage> {
  readonly member: string;
  private readonly link: LeaderLink;
  private channel: RequestChannel | undefined;
  private subscription = -1;
  /** The leader of `channel` takes settles as ranges (its `consuming` said so). */
  private ranges = false;
  /** Bounded by the group (maxPending a member), not here; a shift per message moved the whole array. */
  private readonly queue = new MessageBuffer<ConsumedMessage>(Infinity, Infinity);
  /** key (the offset, in a group on one topic) -> attempt of every message handed to this member and not yet settled. */
  private readonly inHand = new Map<number, number>();
  private waiter: PromiseWithResolvers<void> | undefined;
  private failure: unknown;
  private closed = false;
  private joining: Promise<void> | undefined;
  /** The first join succeeded: `start()` has nothing to wait for. */
  private joined = false;
  private readonly settles = new GroupSettles(
    (kind, offsets, attempts) => this.sendSettles(kind, offsets, attempts),
    (kind, offset, attempt) => {
      if (kind !== "progress") this.forget(offset, attempt);
    },
  );

  constructor(
    private readonly topic: string,
    private readonly options: ConsumeOptions,
    private readonly context: Context,
  ) {
    this.member = options.member ?? randomMember();
    this.link = new LeaderLink(context.pool);
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<ConsumedMessage> {
    return this;
  }

  /** Joins the group (once); later calls wait for the same join. */
  start(): Promise<void> {
    this.joining ??= this.join(now() + this.context.timeoutMs).then(() => {
      this.joined = true;
    });
    return this.joining;
  }

  next(): Promise<IteratorResult<ConsumedMessage>> {
    // a message waiting, once joined, is handed over without the await and async frame of the general path: a busy
    // member takes one per message
    const message = this.joined ? this.queue.shift() : undefined;
    if (message !== undefined) return Promise.resolve({ value: message, done: false });
    return this.wait();
  }

  /**
   * The messages waiting for this member, at least one (it waits for one), at most `max`, as a batch: a member that
   * takes them this way pays for one promise per batch instead of one per message and settle. Undefined once the
   * stream has ended (closed); throws what ended it otherwise.
   */
  async fetch(options: FetchOptions = {}): Promise<ConsumedBatch | undefined> {
    const max = options.max ?? MAX_PER_REQUEST;
    if (!Number.isSafeInteger(max) || max < 1 || max > MAX_PER_REQUEST)
      throw new MqraftError("BAD_USAGE", `fetch max: expected a whole number from 1 to ${MAX_PER_REQUEST}`);
    const first = await this.next();
    if (first.done) return undefined;
    const messages: Held[] = [first.value as Held];
    while (messages.length < max) {
      const m = this.queue.shift();
      if (m === undefined) break;
      messages.push(m as Held);
    }
    return new Batch(messages, this.settleMany);
  }

  /** The member's messages as batches (fetch), until the stream ends: `for await (const batch of stream.batches())`. */
  async *batches(options: FetchOptions = {}): AsyncGenerator<ConsumedBatch, void, undefined> {
    try {
      for (let batch = await this.fetch(options); batch !== undefined; batch = await this.fetch(options)) yield batch;
    } finally {
      await this.close();
    }
  }

  private async wait(): Promise<IteratorResult<ConsumedMessage>> {
    await this.start();
    for (;;) {
      const message = this.queue.shift();
      if (message !== undefined) return { value: message, done: false };
      if (this.failure !== undefined) throw this.failure;
      if (this.closed) return { value: undefined, done: true };
      this.waiter = Promise.withResolvers<void>();
      await this.waiter.promise;
    }
  }

  async return(): Promise<IteratorResult<ConsumedMessage>> {
    await this.close();
    return { value: undefined, done: true };
  }

  /** Leaves the group once the settles already made are answered: what this member still holds goes to the others. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closing ??= this.leave();
    return this.closing;
  }

  private async leave(): Promise<void> {
    await this.settles.drain();
    this.closed = true;
    const channel = this.channel;
    if (channel?.isOpen && this.subscription >= 0) {
      await channel.ask({ type: "unsubscribe", subscription: this.subscription }).catch(() => {});
    }
    this.link.close();
    this.wake();
    this.context.ended(this);
  }

  private async join(deadline: number): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) return;
      let channel: RequestChannel | undefined;
      try {
        channel = await this.link.get(deadline);
        channel.onDelivery = (push) => this.received(channel as RequestChannel, push);
        channel.onGroupMessage = (push) => this.received(channel as RequestChannel, push);
        channel.onClose = (reason) => this.lost(channel as RequestChannel, reason);
        const request: Omit<Consume, "id"> = {
          type: "consume",
          group: this.options.group,
          topic: this.topic,
          member: this.member,
          ...pick(this.options),
          batch: true,
          runs: true,
        };
        const answer = await channel.ask(request);
        this.channel = channel;
        this.subscription = answer.subscription;
        this.ranges = answer.ranges === true;
        this.link.confirm();
        return;
      } catch (e) {
        if (!isRetryable(e) || remaining(deadline) === 0 || this.closed) throw e;
        if (channel !== undefined) this.link.report(channel, e);
        await sleep(backoffMs(attempt));
      }
    }
  }

  private received(channel: RequestChannel, push: Push | GroupMessage | GroupMessages | GroupRun | GroupPing): void {
    if (channel !== this.channel && this.channel !== undefined) return;
    if (push.type === "ended") {
      // the group was removed (or this member with it): the stream ends; any other end is the broker's, join again
      if (push.code === "NOT_FOUND") {
        this.failure = new MqraftError("NOT_FOUND", push.message);
        this.closed = true;
        this.link.close();
        this.wake();
        this.context.ended(this);
      }
      return void channel.close();
    }
    // the leader asks whether this member, out since a delivery of its expired, is there: it is
    if (push.type === "group-ping") return void this.sendSettles("progress", [], []).catch(() => {});
    if (push.type === "group-message") this.hold(push);
    else if (push.type === "group-messages") for (const item of push.messages) this.hold(item);
    else if (push.type === "group-run") this.holdRun(push);
    else return;
    this.wake();
  }

  /** Queues a message pushed to this member, unless it has it already. */
  private hold(m: GroupMessageItem): void {
    // a new leader sends again what this member holds: keep the copy it already has
    const key = m.key ?? m.offset;
    if (this.inHand.get(key) === m.attempt) return;
    this.inHand.set(key, m.attempt);
    const headers = MessageHeaders.of(m.headers);
    this.queue.push(new Held(m.topic, m.offset, key, m.attempt, m.data, m.time, headers, this.settleOne));
  }

  /** Queues the messages of a run (group on one topic: the key is the offset), but those it has already. */
  private holdRun(run: GroupRun): void {
    const { topic, offset, attempt, messages } = run;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as GroupRun["messages"][number];
      const key = offset + i;
      if (this.inHand.get(key) === attempt) continue;
      this.inHand.set(key, attempt);
      const headers = MessageHeaders.of(m.headers);
      this.queue.push(new Held(topic, key, key, attempt, m.data, m.time, headers, this.settleOne));
    }
  }

  /** The connection to the leader ended: join again (the new leader, or this one after a blip). */
  private lost(channel: RequestChannel, reason: MqraftError): void {
    if (this.closed || channel !== this.channel) return;
    this.channel = undefined;
    this.subscription = -1;
    this.link.report(channel, reason);
    this.joining = this.join(now() + this.context.resumeTimeoutMs).catch((e) => {
      this.failure = e;
      this.wake();
    });
  }

  private closing: Promise<void> | undefined;

  private readonly settleOne = (kind: Kind, offset: number, attempt: number): Promise<void> =>
    this.settle(kind, offset, attempt);

  private readonly settleMany = (kind: Kind, messages: readonly Held[]): Promise<void> => {
    const keys: number[] = [];
    const attempts: number[] = [];
    let notHeld: Held | undefined;
    for (const m of messages) {
      if (this.inHand.get(m.key) === m.attempt) {
        keys.push(m.key);
        attempts.push(m.attempt);
      } else notHeld ??= m;
    }
    const settled = this.settles.addMany(kind, keys, attempts);
    if (notHeld === undefined) return settled;
    const refused = new MqraftError(
      "REFUSED",
      `offset ${notHeld.offset} (delivery ${notHeld.attempt}) of the batch was settled already`,
    );
    return settled.then(() => Promise.reject(refused));
  };

  private settle(kind: Kind, offset: number, attempt: number): Promise<void> {
    if (this.inHand.get(offset) !== attempt)
      return Promise.reject(new MqraftError("REFUSED", `offset ${offset} (delivery ${attempt}) was settled already`));
    return this.settles.add(kind, offset, attempt);
  }

  /** One batch of settles, on the leader this member is joined to, again after a failover; the refused offsets. */
  private async sendSettles(kind: Kind, offsets: number[], attempts: number[]): Promise<number[]> {
    const deadline = now() + this.context.timeoutMs;
    for (let retry = 0; ; retry++) {
      await this.joining;
      const channel = this.channel;
      try {
        if (channel === undefined) throw new MqraftError("CONNECTION_CLOSED", "not connected to the leader");
        const { group } = this.options;
        const member = this.member;
        const ranges = this.ranges ? asRanges(offsets, attempts) : undefined;
        const answer = await channel.ask(
          ranges === undefined
            ? { type: "group-ack", group, member, kind, offsets, attempts }
            : { type: "group-ack", group, member, kind, offsets: [], attempts: [], ranges },
        );
        return answer.refused;
      } catch (e) {
        if (!isRetryable(e) || remaining(deadline) === 0 || this.closed) throw e;
        await sleep(backoffMs(retry));
      }
    }
  }

  /** Only this delivery: a redelivery of the same offset may have arrived with the answer (after a nak). */
  private forget(offset: number, attempt: number): void {
    if (this.inHand.get(offset) === attempt) this.inHand.delete(offset);
  }

  private wake(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve();
  }
}

/** Checks a consume's options as the broker would, so that a mistake is BAD_USAGE here, naming the option. */
export function checkConsume(topic: string, options: ConsumeOptions): void {
  const parsed = v.safeParse(ConsumeSchema, {
    type: "consume",
    id: 0,
    topic,
    group: options.group,
    member: options.member ?? "member",
    ...pick(options),
  });
  if (!parsed.success) {
    const path = v.getDotPath(parsed.issues[0]);
    throw new MqraftError("BAD_USAGE", `consume ${path ?? ""}: ${firstIssue(parsed.issues)}`);
  }
}

function pick(o: ConsumeOptions): Partial<Omit<Consume, "id" | "type" | "group" | "topic" | "member">> {
  return {
    ...(o.ackWaitMs === undefined ? {} : { ackWaitMs: o.ackWaitMs }),
    ...(o.maxDeliver === undefined ? {} : { maxDeliver: o.maxDeliver }),
    ...(o.deadLetter === undefined ? {} : { deadLetter: o.deadLetter }),
    ...(o.maxPending === undefined ? {} : { maxPending: o.maxPending }),
    ...(o.from === undefined ? {} : { from: o.from }),
  };
}

function randomMember(): string {
  return `member-${Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
