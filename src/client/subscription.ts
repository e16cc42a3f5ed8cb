import { MqraftError } from "../util/errors.ts";
import { MessageHeaders } from "../util/message-headers.ts";
import { anyMatch, splitPatterns, type TopicPattern } from "../util/topic-pattern.ts";
import type { Gap, Push, Subscribed, SubscribeStart, TopicOffsets } from "../wire/index.ts";
import { isRetryable, leaderHint } from "./client-errors.ts";
import { backoffMs, now, remaining, seconds, sleep, withDeadline } from "./deadline.ts";
import type { DurableAcks } from "./durable-acks.ts";
import { MessageBuffer, type ReceivedMessage } from "./message-buffer.ts";
import type { RequestChannel } from "./request-channel.ts";
import type { ServerPool } from "./server-pool.ts";
import { unsubscribe } from "./unsubscribe.ts";

export interface SubscribeOptions {
  /** Where a new stream starts: "earliest", "latest" (the default) or an offset. */
  /** earliest, latest (the default), an offset, or `{ time }` (ms): per topic the first message stored at or after it. */
  from?: SubscribeStart;
  /** A durable subscription's name: the cluster keeps its acked positions across clients. */
  durable?: string;
  /** End the stream once every message committed when it started has been received. */
  drain?: boolean;
  /** Messages received but not yet taken, at most, before reading from the broker pauses (default 1000). */
  bufferMessages?: number;
  /** Bytes of such messages, at most (default 16 MiB). */
  bufferBytes?: number;
  /** Told when the stream loses its broker and when it resumes on one, so that a user can be told. */
  onReconnect?: (event: ReconnectEvent) => void;
  /**
   * Told of offsets the stream will never deliver (retention removed them before they were read, or a
   * broker could not read them); the stream goes on after them. Without it, a gap fails the stream.
   */
  onGap?: (gap: SubscriptionGap) => void;
}

/** Messages [from, to) of `topic` that a subscription skipped, and why. */
export interface SubscriptionGap {
  topic: string;
  from: number;
  to: number;
  reason: Gap["reason"];
}

/** The stream lost `address` (and looks for a broker for up to `timeoutMs`), or resumed on `address`. */
export type ReconnectEvent =
  | { type: "lost"; address: string; timeoutMs: number }
  | { type: "resumed"; address: string };

export interface SubscriptionContext {
  pool: ServerPool;
  acks: DurableAcks | undefined;
  /** For the first subscribe, and for each request while closing. */
  timeoutMs: number;
  /** For finding another broker after the connection was lost. */
  resumeTimeoutMs: number;
  /** Once, when the stream has ended (closed, drained or failed). */
  ended: (subscription: Subscription) => void;
}

const MAX_QUICK_REDIRECTS = 3;

type State = "open" | "resuming" | "drained" | "failed" | "closed";

/**
 * A stream of the committed messages of some topics, per topic in offset order, as an async iterator. When the
 * connection is lost it subscribes again on another broker (any broker serves from its own committed log) with
 * `positions` = the next offset it expects per topic, and drops anything below it: no loss, no duplicate. Reading
 * from the socket pauses while the consumer is behind.
 */
export class Subscription implements AsyncIterableIterator<ReceivedMessage> {
  /** Per topic, the first offset the stream delivers, from the first broker's answer (an object without prototype). */
  positions: Readonly<Record<string, number>> = Object.create(null);
  /** Per topic, the next offset not yet committed when the stream started (an object without prototype). */
  ends: Readonly<Record<string, number>> = Object.create(null);

  private readonly from: SubscribeStart;
  private readonly buffer: MessageBuffer;
  /** Next offset expected, per topic: the resume point. */
  private readonly expected = new Map<string, number>();
  /** `ends` as a Map: a topic may be named like a property of Object.prototype. */
  private readonly endOf = new Map<string, number>();
  private channel: RequestChannel | undefined;
  private subscriptionId = -1;
  private paused = false;
  private started = false;
  private state: State = "resuming";
  private failure: unknown;
  private waiter: PromiseWithResolvers<void> | undefined;
  private releasing: Promise<void> = Promise.resolve();

  /** The topics named outright and the patterns (`orders.*`) among `topics`. */
  private readonly named: ReadonlySet<string>;
  private readonly patterns: readonly TopicPattern[];

  private constructor(
    /** The topics and patterns subscribed to, as asked. */
    readonly topics: readonly string[],
    private readonly options: SubscribeOptions,
    private readonly context: SubscriptionContext,
  ) {
    const { topics: named, patterns } = splitPatterns(topics);
    this.named = new Set(named);
    this.patterns = patterns;
    this.from = options.from ?? "latest";
    this.buffer = new MessageBuffer(options.bufferMessages ?? 1000, options.bufferBytes ?? 16 * 1024 * 1024);
  }

  /** Subscribes on some broker; rejects if none accepts within `timeoutMs`. */
  static async start(
    topics: readonly string[],
    options: SubscribeOptions,
    context: SubscriptionContext,
  ): Promise<Subscription> {
    const subscription = new Subscription(topics, options, context);
    await subscription.connect(now() + context.timeoutMs);
    return subscription;
  }

  /** Whether the stream still delivers or is looking for a broker to deliver from. */
  get live(): boolean {
    return this.state === "open" || this.state === "resuming";
  }

  /** Messages received and not yet taken. */
  get buffered(): number {
    return this.buffer.count;
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<ReceivedMessage>> {
    for (;;) {
      const message = this.buffer.shift();
      if (message !== undefined) {
        if (this.paused && this.buffer.low) {
          this.paused = false;
          this.channel?.connection.resume();
        }
        return { value: message, done: false };
      }
      switch (this.state) {
        case "open":
        case "resuming":
          this.waiter ??= Promise.withResolvers<void>();
          await this.waiter.promise;
          continue;
        case "failed":
          this.state = "closed";
          throw this.failure;
        case "drained":
        case "closed":
          return { value: undefined, done: true };
        default: {
          const unknownState: never = this.state;
          throw new MqraftError("INTERNAL", `subscription in state ${String(unknownState)}`);
        }
      }
    }
  }

  async return(): Promise<IteratorResult<ReceivedMessage>> {
    await this.close();
    return { value: undefined, done: true };
  }

  /** Records in the cluster that this durable subscription has processed `message`. */
  ack(message: Pick<ReceivedMessage, "topic" | "offset"> & Partial<ReceivedMessage>): Promise<void> {
    if (this.context.acks === undefined) {
      return Promise.reject(
        new MqraftError("BAD_USAGE", "ack needs a durable subscription (subscribe with { durable: name })"),
      );
    }
    return this.context.acks.ack(message.topic, message.offset);
  }

  /** Ends the stream; with `remove`, a durable subscription is also deleted from the cluster. */
  async close(options: { remove?: boolean } = {}): Promise<void> {
    if (this.state !== "closed") {
      const wasLive = this.live;
      this.state = "closed";
      this.buffer.clear();
      this.notify();
      if (wasLive) this.context.ended(this);
      this.releasing = this.release(options.remove === true);
    }
    await this.releasing;
  }

  private async connect(deadline: number): Promise<void> {
    let hint: string | undefined;
    for (let attempt = 0; ; attempt++) {
      if (this.state === "closed") return;
      const channel = await this.context.pool.openBroker(deadline, hint);
      hint = undefined;
      try {
        await this.subscribeOn(channel, deadline);
        // closed meanwhile: the answer was not attached, so nobody else will close this channel
        if (this.channel !== channel) channel.close();
        return;
      } catch (e) {
        channel.close();
        if (!isRetryable(e) || remaining(deadline) === 0) throw e;
        hint = leaderHint(e);
        // a named leader is tried at once, but not forever: brokers may keep naming each other
        if (hint === undefined || attempt >= MAX_QUICK_REDIRECTS) {
          this.context.pool.demote(channel.address);
          await sleep(Math.min(remaining(deadline), backoffMs(attempt)));
        }
      }
    }
  }

  private subscribeOn(channel: RequestChannel, deadline: number): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    channel.onDelivery = (delivery) => this.receive(channel, delivery);
    const positions = this.expected.size > 0 ? { positions: [...this.expected] } : {};
    const holder = this.context.acks?.holder;
    const durable =
      this.options.durable === undefined
        ? {}
        : holder === undefined
          ? { durable: this.options.durable }
          : { durable: this.options.durable, holder };
    // attached in the answer's callback, not after an await: pushes may follow the answer in the same read
    const sent = channel.request(
      { type: "subscribe", topics: [...this.topics], from: this.from, ...positions, ...durable },
      (answer) => {
        if (answer instanceof MqraftError) return reject(answer);
        if (this.state !== "closed") this.attach(channel, answer);
        resolve();
      },
    );
    if (!sent) reject(new MqraftError("CONNECTION_CLOSED", `connection to ${channel.address} closed`));
    return withDeadline(
      promise,
      deadline,
      () => new MqraftError("TIMEOUT", `${channel.address} did not answer subscribe in time`),
    );
  }

  private attach(channel: RequestChannel, answer: Subscribed): void {
    this.channel = channel;
    this.subscriptionId = answer.subscription;
    if (!this.started) {
      this.started = true;
      this.positions = recordOf(answer.positions);
      this.ends = recordOf(answer.ends);
      for (const [topic, end] of answer.ends) this.endOf.set(topic, end);
    }
    const starts = new Map(answer.positions);
    // the topics named, and those the broker found for the patterns
    for (const topic of new Set([...this.named, ...starts.keys()])) {
      // a broker starts a topic later than asked only where retention removed the messages in between: it says so
      // with a gap push that follows this answer
      const start = starts.get(topic) ?? 0;
      this.expected.set(topic, Math.max(this.expected.get(topic) ?? 0, start));
    }
    channel.onClose = () => this.lost(channel);
    this.state = "open";
    this.paused = false;
    if (this.buffer.full) this.pause();
    this.checkDrained();
    this.notify();
  }

  private receive(channel: RequestChannel, delivery: Push): void {
    if (channel !== this.channel || delivery.subscription !== this.subscriptionId || this.state !== "open") return;
    if (delivery.type === "ended") {
      this.fail(new MqraftError(delivery.code, `${channel.address} ended the subscription: ${delivery.message}`));
      return;
    }
    // below `expected`: delivered before a reconnect; a topic not asked for: a confused broker; a topic new to this
    // stream that matches a pattern: created after the stream began, delivered from its first message on
    const expected =
      this.expected.get(delivery.topic) ?? (anyMatch(delivery.topic, this.named, this.patterns) ? 0 : undefined);
    if (expected === undefined) return;
    if (delivery.type === "gap") return this.gap(delivery, expected);
    if (delivery.offset < expected) return;
    if (this.options.drain === true && delivery.offset >= (this.endOf.get(delivery.topic) ?? 0)) return;
    this.expected.set(delivery.topic, delivery.offset + 1);
    this.buffer.push({
      topic: delivery.topic,
      offset: delivery.offset,
      data: delivery.data,
      time: delivery.time,
      headers: MessageHeaders.of(delivery.headers),
    });
    if (this.buffer.full) this.pause();
    this.checkDrained();
    this.notify();
  }

  /** Offsets the broker will never send: the consumer is told (onGap), or the stream fails. */
  private gap(gap: Gap, expected: number): void {
    const { topic, from, to, reason } = gap;
    if (to > expected) this.expected.set(topic, to);
    // messages whose TTL ran out are meant never to be read: the stream goes on past them without a word
    if (reason === "expired") {
      this.checkDrained();
      this.notify();
      return;
    }
    const onGap = this.options.onGap;
    if (onGap === undefined) {
      const why = reason === "retention" ? "were removed by retention before they were delivered" : "could not be read";
      this.fail(new MqraftError("NOT_FOUND", `messages ${from} to ${to - 1} of topic ${JSON.stringify(topic)} ${why}`));
      return;
    }
    onGap({ topic, from, to, reason });
    this.checkDrained();
    this.notify();
  }

  /** Ends the stream with `error`, thrown by `next()` once the messages received before it are taken. */
  private fail(error: MqraftError): void {
    this.state = "failed";
    this.failure = error;
    this.context.ended(this);
    this.releasing = this.release(false);
    this.notify();
  }

  private pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.channel?.connection.pause();
  }

  private checkDrained(): void {
    if (this.options.drain !== true || this.state !== "open") return;
    // a topic created after the stream began has nothing committed before it
    for (const [topic, end] of this.endOf) if ((this.expected.get(topic) ?? 0) < end) return;
    this.state = "drained";
    this.context.ended(this);
    this.releasing = this.release(false);
  }

  private lost(channel: RequestChannel): void {
    if (channel !== this.channel) return;
    this.channel = undefined;
    if (this.state !== "open") return;
    this.context.pool.demote(channel.address);
    this.state = "resuming";
    this.options.onReconnect?.({ type: "lost", address: channel.address, timeoutMs: this.context.resumeTimeoutMs });
    void this.resume();
  }

  private async resume(): Promise<void> {
    try {
      await this.connect(now() + this.context.resumeTimeoutMs);
      if (this.channel !== undefined) this.options.onReconnect?.({ type: "resumed", address: this.channel.address });
    } catch (e) {
      if (this.state !== "resuming") return;
      this.state = "failed";
      this.context.ended(this);
      this.failure = new MqraftError(
        "UNAVAILABLE",
        `subscription lost and not resumed within ${seconds(this.context.resumeTimeoutMs)}: ${e instanceof Error ? e.message : String(e)}`,
        { cause: e },
      );
      this.notify();
    }
  }

  /** Stops the stream on its broker (waiting for the answer, within the timeout) and closes its connection. */
  private async release(remove: boolean): Promise<void> {
    const channel = this.channel;
    this.channel = undefined;
    if (channel !== undefined) {
      channel.onDelivery = () => {};
      channel.onClose = () => {};
      // the answer is behind whatever the broker pushed meanwhile: read on, discarding
      channel.connection.resume();
    }
    await unsubscribe(this.context.pool, channel, this.subscriptionId, remove, {
      topics: this.topics,
      durable: this.options.durable,
      timeoutMs: this.context.timeoutMs,
    });
  }

  private notify(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.resolve();
  }
}

function recordOf(pairs: TopicOffsets): Record<string, number> {
  const record: Record<string, number> = Object.create(null);
  for (const [topic, offset] of pairs) record[topic] = offset;
  return record;
}
