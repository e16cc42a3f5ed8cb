import * as v from "valibot";
import { AddressSchema, firstIssue } from "../util/config-values.ts";
import { MqraftError } from "../util/errors.ts";
import { type HeaderPairs, type HeadersInit, headersProblem, MessageHeaders } from "../util/message-headers.ts";
import { ProducerIdSchema, SubscriptionNameSchema } from "../util/names.ts";
import { normalizeTopic, TopicPatternSchema } from "../util/topic-name.ts";
import { SubscribeStartSchema } from "../wire/index.ts";
import { AdminCalls, type MqraftAdmin } from "./admin-calls.ts";
import { now } from "./deadline.ts";
import { DurableAcks } from "./durable-acks.ts";
import { type ConsumeOptions, checkConsume, GroupStream } from "./group-stream.ts";
import { LeaderLink } from "./leader-link.ts";
import type { ReceivedMessage } from "./message-buffer.ts";
import { Publisher, type PublishResult } from "./publisher.ts";
import { ServerPool } from "./server-pool.ts";
import { type SubscribeOptions, Subscription } from "./subscription.ts";

/** The dedup window keeps a producer's last 10,000 seqs: a window well inside it keeps every retry deduplicated. */
const MAX_WINDOW = 5_000;

/**
 * A first contact where every server refuses the connection or has a name that does not resolve fails after this
 * long (retrying meanwhile, for a broker that is just starting) instead of after the whole timeout.
 */
const GIVE_UP_ON_REFUSAL_MS = 500;

/** Timers treat anything above 2^31 - 1 ms as 1 ms. */
const MAX_TIMER_MS = 2 ** 31 - 1;

const whole = (min: number, max: number) => v.pipe(v.number(), v.safeInteger(), v.minValue(min), v.maxValue(max));

export const ClientOptionsSchema = v.object({
  /** Brokers or managers ("host:port"); any one that answers teaches the client the others. */
  servers: v.pipe(v.array(AddressSchema), v.minLength(1, "at least one server address")),
  /** A publish's limit from the call to its acknowledgement; also for a subscribe to start, an ack, a status. */
  timeoutMs: v.optional(whole(1, MAX_TIMER_MS), 10_000),
  /** One attempt to connect and get a welcome. */
  connectTimeoutMs: v.optional(whole(1, MAX_TIMER_MS), 2_000),
  /** A subscription that lost its broker keeps looking for another this long, then fails. */
  resumeTimeoutMs: v.optional(whole(1, MAX_TIMER_MS), 60_000),
  /** Publishes on the wire and not yet acknowledged, at most. */
  window: v.optional(whole(1, MAX_WINDOW), 1_000),
  /** This client's producer id for deduplication; random unless given. */
  producer: v.optional(ProducerIdSchema),
  /** The user's token (`mqraft user add` prints one), for a cluster with auth on (docs/security.md). */
  /** PEM text: `ca` to verify the servers with TLS, `cert` and `key` for servers that require a client certificate. */
  tls: v.optional(v.object({ ca: v.optional(v.string()), cert: v.optional(v.string()), key: v.optional(v.string()) })),
  token: v.optional(
    v.pipe(v.string(), v.minLength(1, "an empty token"), v.maxLength(4096, "a token of at most 4096 characters")),
  ),
});
export type ClientOptions = v.InferInput<typeof ClientOptionsSchema>;

/** What a publish may carry besides its payload (docs/messaging.md). */
export interface PublishOptions {
  /** Key-value pairs stored and delivered with the message; keys are lowercased. At most 32 pairs and 4 KiB. */
  headers?: HeadersInit;
  /** How long the message lives, in ms (a whole number of at least 1): never delivered after that. */
  ttlMs?: number;
}

export interface MqraftClient extends MqraftAdmin {
  /** The producer id every publish of this client carries. */
  readonly producer: string;
  /** Stores one message; resolves with its offset once committed. Many may be in flight; they commit in call order. */
  publish(topic: string, data: Uint8Array | string, options?: PublishOptions): Promise<PublishResult>;
  /** Starts a stream of committed messages of `topics`; see Subscription. */
  subscribe(topics: string | readonly string[], options?: SubscribeOptions & SubscribeCallbacks): Promise<Subscription>;
  /**
   * Joins consumer group `options.group` on `topic` (creating it) as one member: an async iterator of the messages the
   * group hands to this member, each to be settled with ack(), nak() or inProgress(). Starts on the first next().
   */
  consume(topic: string, options: ConsumeOptions): GroupStream;
  /** Fails unacknowledged publishes with CONNECTION_CLOSED, ends subscriptions, closes every connection. */
  close(): Promise<void>;
  /** Stops taking publishes, waits until every publish already made is acknowledged or has failed, then closes. */
  drain(): Promise<void>;
  /** Settles once the client is closed, with why: null after `close()` or `drain()`. */
  readonly closed: Promise<MqraftError | null>;
}

/** A subscription read by the client, which hands each message to a callback instead of an iterator. */
export interface SubscribeCallbacks {
  /** Each message, in order; the next one waits until a promise this returns settles. */
  onMessage?: (message: ReceivedMessage) => unknown;
  /**
   * Once, if the stream fails or `onMessage` throws; the subscription is closed by then. Without it the error is
   * thrown where nobody catches it (an unhandled rejection), never dropped.
   */
  onError?: (error: unknown) => void;
}

/**
 * Reaches one of `servers` (rejecting with UNAVAILABLE if none answers within `timeoutMs`) and returns a client. The
 * connections it needs later (to the leader for publishes, to any broker per subscription) open on first use.
 */
export async function connect(options: ClientOptions): Promise<MqraftClient> {
  const parsed = v.safeParse(ClientOptionsSchema, options);
  if (!parsed.success) {
    const path = v.getDotPath(parsed.issues[0]);
    throw new MqraftError("BAD_USAGE", `client option ${path ?? ""}: ${firstIssue(parsed.issues)}`);
  }
  const settings = parsed.output;
  const pool = new ServerPool(settings.servers, settings.connectTimeoutMs, {
    ...(settings.token === undefined ? {} : { token: settings.token }),
    ...(settings.tls === undefined ? {} : { tls: settings.tls }),
  });
  const first = await pool.openBroker(now() + settings.timeoutMs, undefined, GIVE_UP_ON_REFUSAL_MS);
  pool.keepSpare(first);
  return new Client(pool, { ...settings, producer: settings.producer ?? randomProducerId() });
}

type Settings = Required<Omit<v.InferOutput<typeof ClientOptionsSchema>, "token" | "tls">>;

class Client extends AdminCalls implements MqraftClient {
  readonly producer: string;
  private readonly publisher: Publisher;
  private readonly subscriptions = new Set<Subscription>();
  private readonly streams = new Set<GroupStream>();
  private isClosed = false;
  private draining = false;
  /** Publishes made and not yet settled, and who waits for there to be none. */
  private unsettled = 0;
  private allSettled: PromiseWithResolvers<void> | undefined;
  private readonly settlePublish = (): void => {
    if (--this.unsettled === 0) this.allSettled?.resolve();
  };
  readonly closed: Promise<MqraftError | null>;
  private readonly settleClosed: (reason: MqraftError | null) => void;

  constructor(
    pool: ServerPool,
    private readonly settings: Settings,
  ) {
    super(pool, new LeaderLink(pool), settings.timeoutMs);
    this.producer = settings.producer;
    const { promise, resolve } = Promise.withResolvers<MqraftError | null>();
    this.closed = promise;
    this.settleClosed = resolve;
    this.publisher = new Publisher(this.link, {
      producer: settings.producer,
      window: settings.window,
      timeoutMs: settings.timeoutMs,
    });
  }

  publish(topic: string, data: Uint8Array | string, options: PublishOptions = {}): Promise<PublishResult> {
    if (this.draining) return Promise.reject(new MqraftError("CONNECTION_CLOSED", "the client is draining"));
    let headers: HeaderPairs | undefined;
    if (options.headers !== undefined) {
      headers = new MessageHeaders(options.headers).pairs();
      const problem = headersProblem(headers);
      if (problem !== undefined) return Promise.reject(new MqraftError("BAD_USAGE", problem));
      if (headers.length === 0) headers = undefined;
    }
    const { ttlMs } = options;
    if (ttlMs !== undefined && (!Number.isSafeInteger(ttlMs) || ttlMs < 1))
      return Promise.reject(
        new MqraftError("BAD_USAGE", `ttlMs: expected a whole number of ms of at least 1, not ${ttlMs}`),
      );
    const published = this.publisher.publish(
      normalizeTopic(topic),
      typeof data === "string" ? new TextEncoder().encode(data) : data,
      headers,
      ttlMs,
    );
    this.unsettled++;
    published.then(this.settlePublish, this.settlePublish);
    return published;
  }

  async subscribe(
    topics: string | readonly string[],
    { onMessage, onError, ...options }: SubscribeOptions & SubscribeCallbacks = {},
  ): Promise<Subscription> {
    if (this.isClosed) throw new MqraftError("CONNECTION_CLOSED", "the client was closed");
    // NFC, so that the two ways of writing "é" name one topic (docs/messaging.md)
    const list = [...new Set((typeof topics === "string" ? [topics] : topics).map(normalizeTopic))];
    checkSubscribe(list, options);
    const { timeoutMs, resumeTimeoutMs } = this.settings;
    const acks = options.durable === undefined ? undefined : new DurableAcks(this.link, options.durable, timeoutMs);
    const ended = (subscription: Subscription): void => void this.subscriptions.delete(subscription);
    const subscription = await Subscription.start(list, options, {
      pool: this.pool,
      acks,
      timeoutMs,
      resumeTimeoutMs,
      ended,
    });
    // a drain with nothing to read has ended before it is returned
    if (subscription.live) this.subscriptions.add(subscription);
    if (onMessage !== undefined) void consume(subscription, onMessage, onError);
    return subscription;
  }

  consume(topic: string, options: ConsumeOptions): GroupStream {
    if (this.isClosed) throw new MqraftError("CONNECTION_CLOSED", "the client was closed");
    checkConsume(topic, options);
    const { timeoutMs, resumeTimeoutMs } = this.settings;
    const stream = new GroupStream(topic, options, {
      pool: this.pool,
      timeoutMs,
      resumeTimeoutMs,
      ended: (s) => void this.streams.delete(s),
    });
    this.streams.add(stream);
    return stream;
  }

  async close(): Promise<void> {
    if (this.isClosed) return;
    this.isClosed = true;
    this.draining = true;
    this.publisher.close();
    const closing = [...this.subscriptions, ...this.streams].map((s) => s.close());
    await Promise.allSettled(closing);
    this.link.close();
    this.pool.close();
    this.settleClosed(null);
  }

  async drain(): Promise<void> {
    if (!this.draining) {
      this.draining = true;
      if (this.unsettled > 0) {
        this.allSettled = Promise.withResolvers<void>();
        await this.allSettled.promise;
      }
      await this.close();
    }
    await this.closed;
  }
}

/** Hands each message of `subscription` to `onMessage`, in order, until it ends; a failure goes to `onError`. */
async function consume(
  subscription: Subscription,
  onMessage: (message: ReceivedMessage) => unknown,
  onError: ((error: unknown) => void) | undefined,
): Promise<void> {
  try {
    for await (const message of subscription) await onMessage(message);
  } catch (e) {
    await subscription.close().catch(() => {});
    if (onError === undefined) throw e;
    onError(e);
  }
}

function checkSubscribe(topics: string[], options: SubscribeOptions): void {
  const problem = (what: string, issues: readonly v.BaseIssue<unknown>[]): never => {
    throw new MqraftError("BAD_USAGE", `${what}: ${firstIssue(issues)}`);
  };
  if (topics.length === 0 || topics.length > 1000) throw new MqraftError("BAD_USAGE", "subscribe to 1 to 1000 topics");
  for (const topic of topics) {
    const result = v.safeParse(TopicPatternSchema, topic);
    if (!result.success) problem(`topic ${JSON.stringify(topic)}`, result.issues);
  }
  if (options.durable !== undefined) {
    const result = v.safeParse(SubscriptionNameSchema, options.durable);
    if (!result.success) problem(`durable name ${JSON.stringify(options.durable)}`, result.issues);
  }
  if (options.from !== undefined) {
    const result = v.safeParse(SubscribeStartSchema, options.from);
    if (!result.success) problem(`from ${JSON.stringify(options.from)}`, result.issues);
  }
}

/** 16 hex characters: 64 random bits, so two clients never share a dedup window by chance. */
function randomProducerId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
