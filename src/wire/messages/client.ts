import * as v from "valibot";
import { ERROR_CODES } from "../../util/errors.ts";
import { HeadersSchema } from "../../util/message-headers.ts";
import { ProducerIdSchema, SubscriptionNameSchema, TopicSchema } from "../../util/names.ts";
import { TopicPatternSchema } from "../../util/topic-name.ts";
import { NodeIdSchema } from "./fields.ts";

/** Client requests on a broker port and the broker's answers and pushes. `id` pairs a request with its answer. */

const RequestIdSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const OffsetSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const BytesSchema = v.instance(Uint8Array);
/** Epochs start at 1; the wire takes any whole number (the hot codecs' kind) and the broker refuses 0. */
const EpochSchema = OffsetSchema;
/** Topics and patterns (`orders.*`, `orders.>`; docs/messaging.md). */
const TopicListSchema = v.pipe(
  v.array(TopicPatternSchema),
  v.minLength(1, "at least one topic"),
  v.maxLength(1000, "at most 1000 topics"),
);

/**
 * An offset per topic, as [topic, offset] pairs rather than a map keyed by topic: a CBOR map decodes
 * to a plain object, where cbor-x renames a `__proto__` key and valibot's v.record drops
 * `__proto__`, `prototype` and `constructor`, all of them valid topic names. A topic listed twice
 * counts once, with its last offset.
 */
export const TopicOffsetsSchema = v.pipe(
  v.array(v.tuple([TopicSchema, OffsetSchema])),
  v.maxLength(1000, "at most 1000 topics"),
);

export const PublishSchema = v.object({
  type: v.literal("publish"),
  id: RequestIdSchema,
  topic: TopicSchema,
  data: BytesSchema,
  /** With `seq`: a retry of the same (producer, seq) is stored once and answered with the original offset. */
  producer: v.optional(ProducerIdSchema),
  seq: v.optional(OffsetSchema),
  /**
   * The producer's epoch from `registered`: the broker then stores this producer's seqs strictly in
   * order (OUT_OF_ORDER for a gap) and refuses an older epoch (FENCED).
   */
  epoch: v.optional(EpochSchema),
  /**
   * With `epoch`: the lowest seq this producer still waits for (at most `seq`). Every seq below it was
   * acknowledged or given up, so the broker no longer waits for them: a given-up seq leaves no hole.
   */
  low: v.optional(OffsetSchema),
  /** [key, value] pairs stored and delivered with the message (docs/messaging.md). */
  headers: v.optional(HeadersSchema),
  /** ms the message lives after it is stored, at least 1 (0 is refused when the entry is applied). */
  ttl: v.optional(OffsetSchema),
});

/** Asks the leader for a new epoch of `producer`: publishes under any earlier epoch are refused from then on. */
export const RegisterSchema = v.object({
  type: v.literal("register"),
  id: RequestIdSchema,
  producer: ProducerIdSchema,
  /** The registering client's token, the same on every attempt: a retry answers the epoch the first one got. */
  session: v.optional(ProducerIdSchema),
});

/** The answer to `register`: the epoch to publish with; the producer's seqs start at 0 again. */
export const RegisteredSchema = v.object({
  type: v.literal("registered"),
  id: RequestIdSchema,
  producer: ProducerIdSchema,
  epoch: EpochSchema,
});

export const SubscribeFromSchema = v.union([v.picklist(["earliest", "latest"]), OffsetSchema]);
/** Where a subscription starts: SubscribeFromSchema, or `{time}`: per topic, the first message stored at or after it. */
export const SubscribeStartSchema = v.union([SubscribeFromSchema, v.strictObject({ time: OffsetSchema })]);

export const SubscribeSchema = v.object({
  type: v.literal("subscribe"),
  id: RequestIdSchema,
  topics: TopicListSchema,
  from: SubscribeStartSchema,
  /**
   * Next offset per topic, to resume after a reconnect; overrides `from` for the topics it names. A topic that
   * matches a pattern and is not named here starts at its first message: the client never heard of it, so it was
   * created after the subscription began.
   */
  positions: v.optional(TopicOffsetsSchema),
  durable: v.optional(SubscriptionNameSchema),
  /**
   * With `durable`: who is attaching (a token the subscriber chose, kept across its reconnects). A
   * durable subscription has one holder: this one takes it over, and the previous holder's streams
   * end with `ended` FENCED and its acks are refused (FENCED).
   */
  holder: v.optional(SubscriptionNameSchema),
});

export const AckSchema = v.object({
  type: v.literal("ack"),
  id: RequestIdSchema,
  durable: SubscriptionNameSchema,
  topic: TopicSchema,
  offset: OffsetSchema,
  /** The holder that subscribed (see subscribe); refused with FENCED once another has taken over. */
  holder: v.optional(SubscriptionNameSchema),
});

export const UnsubscribeSchema = v.object({
  type: v.literal("unsubscribe"),
  id: RequestIdSchema,
  subscription: OffsetSchema,
  /** For a durable subscription: also delete it from the cluster (otherwise it stays for a later resume). */
  remove: v.optional(v.boolean()),
});

/** With `topic`, the answering broker's own row also says how many live subscriptions on it read that topic. */
export const StatusRequestSchema = v.object({
  type: v.literal("status"),
  id: RequestIdSchema,
  topic: v.optional(TopicSchema),
});

export const PublishedSchema = v.object({
  type: v.literal("published"),
  id: RequestIdSchema,
  topic: TopicSchema,
  offset: OffsetSchema,
  duplicate: v.optional(v.boolean()),
});

export const SubscribedSchema = v.object({
  type: v.literal("subscribed"),
  id: RequestIdSchema,
  subscription: OffsetSchema,
  /** Next offset this subscription will deliver, per topic. */
  positions: TopicOffsetsSchema,
  /** Next offset not yet committed when the subscription started, per topic (for `sub --drain`). */
  ends: TopicOffsetsSchema,
});

export const DeliverySchema = v.object({
  type: v.literal("message"),
  subscription: OffsetSchema,
  topic: TopicSchema,
  offset: OffsetSchema,
  data: BytesSchema,
  /** When the leader proposed the message's entry, in ms since the epoch (absent from brokers before it was sent). */
  time: v.optional(OffsetSchema),
  headers: v.optional(HeadersSchema),
});

/**
 * Pushed when a topic's messages [from, to) will never be delivered on a subscription: retention
 * removed them before they were sent, or the broker could not read them. The stream goes on at `to`.
 */
export const GapSchema = v.object({
  type: v.literal("gap"),
  subscription: OffsetSchema,
  topic: TopicSchema,
  from: OffsetSchema,
  to: OffsetSchema,
  /** `expired`: the messages' TTL ran out (docs/messaging.md); a client goes on without saying so. */
  reason: v.picklist(["retention", "unreadable", "expired"]),
});

/** Pushed when the broker ends a subscription by itself: nothing more comes on it. */
export const SubscriptionEndedSchema = v.object({
  type: v.literal("ended"),
  subscription: OffsetSchema,
  code: v.picklist(ERROR_CODES),
  message: v.string(),
});

/**
 * Broker to leader: what is your commit index? A follower asks before it serves "everything
 * committed" (a drain's `ends`, `from: "latest"`), then waits until it has applied that much.
 */
export const ReadIndexRequestSchema = v.object({ type: v.literal("readIndex"), id: RequestIdSchema });

/** The leader's commit index, once it has committed an entry of its own term. */
export const ReadIndexReplySchema = v.object({
  type: v.literal("readIndex"),
  id: RequestIdSchema,
  index: OffsetSchema,
});

const LimitSchema = v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(1)));

/**
 * Client to leader: replaces the cluster's retention policy (absent limits are unlimited); answered
 * `ok` once committed. Brokers' --retain-* flags only set it while the cluster has none.
 */
export const RetentionRequestSchema = v.object({
  type: v.literal("retention"),
  id: RequestIdSchema,
  retention: v.object({ maxMessages: LimitSchema, maxBytes: LimitSchema, maxAgeMs: LimitSchema }),
});

export const OkSchema = v.object({ type: v.literal("ok"), id: RequestIdSchema });

const CountSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(0));

/**
 * One member as the answering broker knows it. Its own row is exact and carries its version, uptime and bytes on
 * disk; in other rows what the broker does not know is null (`matchIndex` is the leader's knowledge of a follower).
 */
export const NodeStatusSchema = v.object({
  id: NodeIdSchema,
  address: v.string(),
  role: v.picklist(["leader", "follower", "candidate", "learner", "unknown"]),
  voter: v.boolean(),
  /** Heard from within the last election timeout (by the leader; by the answering broker for its own row). */
  reachable: v.nullable(v.boolean()),
  term: v.nullable(CountSchema),
  commitIndex: v.nullable(CountSchema),
  lastApplied: v.nullable(CountSchema),
  /** The last index of the member's log (its own row): a broker started on an empty folder reads it (docs/storage.md). */
  lastIndex: v.optional(CountSchema),
  /** The term of that last entry (its own row): with lastIndex, how up to date the log is (docs/storage.md). */
  lastTerm: v.optional(CountSchema),
  matchIndex: v.optional(v.nullable(CountSchema)),
  version: v.optional(v.string()),
  uptimeMs: v.optional(CountSchema),
  diskBytes: v.optional(CountSchema),
  /** Live subscriptions on this member reading the topic the request named (its own row, asked with a topic). */
  subscribers: v.optional(CountSchema),
  /** Free bytes on the file system of the member's data folder, as its disk alarm last read them. */
  diskFreeBytes: v.optional(CountSchema),
  /** The member's disk alarm is raised (below --min-free-space): as leader it refuses publishes with DISK_FULL. */
  diskAlarm: v.optional(v.boolean()),
});

export const StatusReplySchema = v.object({
  type: v.literal("status"),
  id: RequestIdSchema,
  /** 0 when no leader is known. */
  leader: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  term: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  nodes: v.array(NodeStatusSchema),
  /** The answering broker's observability port (--http-port), when it serves one: dashboards find /metrics by it. */
  httpPort: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(1), v.maxValue(65535))),
});

export type TopicOffsets = v.InferOutput<typeof TopicOffsetsSchema>;
export type Register = v.InferOutput<typeof RegisterSchema>;
export type Registered = v.InferOutput<typeof RegisteredSchema>;
export type Publish = v.InferOutput<typeof PublishSchema>;
export type Subscribe = v.InferOutput<typeof SubscribeSchema>;
export type SubscribeFrom = v.InferOutput<typeof SubscribeFromSchema>;
export type SubscribeStart = v.InferOutput<typeof SubscribeStartSchema>;
export type Ack = v.InferOutput<typeof AckSchema>;
export type Unsubscribe = v.InferOutput<typeof UnsubscribeSchema>;
export type StatusRequest = v.InferOutput<typeof StatusRequestSchema>;
export type Published = v.InferOutput<typeof PublishedSchema>;
export type Subscribed = v.InferOutput<typeof SubscribedSchema>;
export type Delivery = v.InferOutput<typeof DeliverySchema>;
export type Gap = v.InferOutput<typeof GapSchema>;
export type SubscriptionEnded = v.InferOutput<typeof SubscriptionEndedSchema>;
/** What a broker pushes on a subscription. */
export type Push = Delivery | Gap | SubscriptionEnded;
export type ReadIndexRequest = v.InferOutput<typeof ReadIndexRequestSchema>;
export type ReadIndexReply = v.InferOutput<typeof ReadIndexReplySchema>;
export type RetentionRequest = v.InferOutput<typeof RetentionRequestSchema>;
export type Ok = v.InferOutput<typeof OkSchema>;
export type NodeStatus = v.InferOutput<typeof NodeStatusSchema>;
export type StatusReply = v.InferOutput<typeof StatusReplySchema>;
