import * as v from "valibot";
import { SubscriptionNameSchema, TopicSchema } from "../../util/names.ts";
import { DURABLE_FIELDS, PURGE_FIELDS, SEEK_FIELDS } from "../../util/request-fields.ts";
import { ByteCountSchema } from "./fields.ts";

/**
 * Admin requests (`mqraft topic ...`, `mqraft durable ...`), served by the leader: another broker answers NOT_LEADER
 * with the leader's address. Listings come from the leader's applied state; a removal or a seek goes through the
 * Raft log like any durable subscription change, and its request shares its fields with that command
 * (util/request-fields.ts).
 */
const RequestIdSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const OffsetSchema = ByteCountSchema;

/** The topics (or the one named) with their offsets and sizes, and the retention in force. */
export const ListTopicsSchema = v.object({
  type: v.literal("list-topics"),
  id: RequestIdSchema,
  topic: v.optional(TopicSchema),
});

export const TopicSummarySchema = v.object({
  name: TopicSchema,
  /** The first offset still stored; equal to nextOffset when none is. */
  firstOffset: OffsetSchema,
  /** The offset the next message gets. */
  nextOffset: OffsetSchema,
  messages: ByteCountSchema,
  /** Payload bytes of the stored messages. */
  bytes: ByteCountSchema,
  /** Durable subscriptions that read this topic. */
  durables: ByteCountSchema,
});

export const RetentionInForceSchema = v.object({
  maxMessages: v.optional(ByteCountSchema),
  maxBytes: v.optional(ByteCountSchema),
  maxAgeMs: v.optional(ByteCountSchema),
});

export const TopicListSchema = v.object({
  type: v.literal("topic-list"),
  id: RequestIdSchema,
  retention: RetentionInForceSchema,
  topics: v.array(TopicSummarySchema),
});

/** Drops a topic's oldest messages until at most `keep` (default 0) are stored, through the log; answered with its `topic-list`. */
export const PurgeTopicSchema = v.object({
  type: v.literal("purge-topic"),
  id: RequestIdSchema,
  topic: PURGE_FIELDS.topic,
  keep: v.optional(PURGE_FIELDS.keep),
});

/** The durable subscriptions, those reading `topic`, or the one named. */
export const ListDurablesSchema = v.object({
  type: v.literal("list-durables"),
  id: RequestIdSchema,
  topic: v.optional(TopicSchema),
  name: v.optional(SubscriptionNameSchema),
});

export const DurableSummarySchema = v.object({
  name: SubscriptionNameSchema,
  topics: v.array(
    v.object({
      topic: TopicSchema,
      /** The next offset it delivers. */
      position: OffsetSchema,
      /** Messages stored from its position on: the topic's next offset minus the position. */
      lag: ByteCountSchema,
    }),
  ),
});

export const DurableListSchema = v.object({
  type: v.literal("durable-list"),
  id: RequestIdSchema,
  durables: v.array(DurableSummarySchema),
});

/** Deletes a durable subscription (answered `ok`, or NOT_FOUND). */
export const RemoveDurableSchema = v.object({
  type: v.literal("remove-durable"),
  id: RequestIdSchema,
  ...DURABLE_FIELDS,
});

/**
 * Moves a durable subscription in every topic it reads, by one command through the log; `{time}` is the first message
 * stored at or after that time (ms since the epoch). Answered with its `durable-list` afterwards.
 */
export const SeekDurableSchema = v.object({
  type: v.literal("seek-durable"),
  id: RequestIdSchema,
  ...SEEK_FIELDS,
});

export type ListTopics = v.InferOutput<typeof ListTopicsSchema>;
export type TopicSummary = v.InferOutput<typeof TopicSummarySchema>;
export type TopicList = v.InferOutput<typeof TopicListSchema>;
export type PurgeTopic = v.InferOutput<typeof PurgeTopicSchema>;
export type ListDurables = v.InferOutput<typeof ListDurablesSchema>;
export type DurableSummary = v.InferOutput<typeof DurableSummarySchema>;
export type DurableList = v.InferOutput<typeof DurableListSchema>;
export type RemoveDurable = v.InferOutput<typeof RemoveDurableSchema>;
export type SeekDurable = v.InferOutput<typeof SeekDurableSchema>;
