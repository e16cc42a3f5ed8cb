import * as v from "valibot";
import { firstIssue } from "../util/config-values.ts";
import { MqraftError } from "../util/errors.ts";
import type { MessageHeaders } from "../util/message-headers.ts";
import {
  type Consume,
  ConsumeSchema,
  type GroupMessage,
  type GroupMessages,
  type GroupPing,
  type GroupRun,
  type Push,
} from "../wire/index.ts";
import { isRetryable } from "./client-errors.ts";
import { backoffMs, now, remaining, sleep } from "./deadline.ts";
import { GroupHand } from "./group-hand.ts";
import { Batch, type Held } from "./group-held.ts";
import { MAX_PER_REQUEST, rangesOf, type SettleKind } from "./group-settles.ts";
import { LeaderLink } from "./leader-link.ts";
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
  /** What this member holds, the messages of it waiting to be taken, and its settles. */
  private readonly hand = new GroupHand((kind, messages) => this.sendSettles(kind, messages));
  private waiter: PromiseWithResolvers<void> | undefined;
  private failure: unknown;
  private closed = false;
  private joining: Promise<void> | undefined;
  /** The first join succeeded: `start()` has nothing to wait for. */
  private joined = false;

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
    const message = this.joined ? this.hand.shift() : undefined;
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
    for (;;) {
      if (!(this.joined && this.hand.waiting > 0) && !(await this.ready())) return undefined;
      // another caller waiting with this one may have taken them first
      const messages = this.hand.take(max);
      if (messages.length > 0) return new Batch(messages, this.hand.settleMany);
    }
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
    for (;;) {
      if (!(await this.ready())) return { value: undefined, done: true };
      // another caller waiting with this one may have taken it first
      const message = this.hand.shift();
      if (message !== undefined) return { value: message, done: false };
    }
  }

  /** True once a message waits (and the first join is done), false once the stream ended; throws what ended it. */
  private async ready(): Promise<boolean> {
    await this.start();
    for (;;) {
      if (this.hand.waiting > 0) return true;
      if (this.failure !== undefined) throw this.failure;
      if (this.closed) return false;
      // shared by every caller waiting at once (two loops over one stream): each is woken
      this.waiter ??= Promise.withResolvers<void>();
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
    await this.hand.drain();
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
    if (push.type === "group-ping") return void this.sendSettles("progress", []).catch(() => {});
    if (push.type === "group-message" || push.type === "group-messages" || push.type === "group-run") {
      this.hand.hold(push);
      this.wake();
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

  /** One batch of settles, on the leader this member is joined to, again after a failover; the refused offsets. */
  private async sendSettles(kind: Kind, messages: readonly Held[]): Promise<number[]> {
    const deadline = now() + this.context.timeoutMs;
    for (let retry = 0; ; retry++) {
      await this.joining;
      const channel = this.channel;
      try {
        if (channel === undefined) throw new MqraftError("CONNECTION_CLOSED", "not connected to the leader");
        const { group } = this.options;
        const member = this.member;
        const ranges = this.ranges ? rangesOf(messages) : undefined;
        const answer = await channel.ask(
          ranges === undefined
            ? { type: "group-ack", group, member, kind, ...listed(messages) }
            : { type: "group-ack", group, member, kind, offsets: [], attempts: [], ranges },
        );
        return answer.refused;
      } catch (e) {
        if (!isRetryable(e) || remaining(deadline) === 0 || this.closed) throw e;
        await sleep(backoffMs(retry));
      }
    }
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

/** Settles as lists of keys and attempts (a broker that takes no ranges, or keys that make none). */
function listed(messages: readonly Held[]): { offsets: number[]; attempts: number[] } {
  return { offsets: messages.map((m) => m.key), attempts: messages.map((m) => m.attempt) };
}

function randomMember(): string {
  return `member-${Array.from(crypto.getRandomValues(new Uint8Array(6)), (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
