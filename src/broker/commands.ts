import * as v from "valibot";
import { HeadersSchema } from "../util/message-headers.ts";
import {
  PositiveNumberSchema,
  ProducerIdSchema,
  SubscriptionNameSchema,
  TopicSchema,
  WholeNumberSchema,
} from "../util/names.ts";
import { DURABLE_FIELDS, PURGE_FIELDS, SEEK_FIELDS, type Start, StartSchema } from "../util/request-fields.ts";
import { TopicPatternSchema } from "../util/topic-name.ts";
import { GROUP_COMMAND_SCHEMAS, type GroupCommand } from "./groups/group-commands.ts";
import { USER_COMMAND_SCHEMAS } from "./users-commands.ts";

/**
 * The commands of the replicated state machine. One committed Normal Raft entry carries one
 * command, CBOR-encoded (see command-codec.ts for the bytes, docs/state-machine.md for meaning).
 * `time` is milliseconds since the epoch, stamped by the leader that proposed the entry: the
 * state machine has no clock of its own.
 */

export const MAX_SUBSCRIPTION_TOPICS = 1000;

export const TimeSchema = WholeNumberSchema;
export const BytesSchema = v.instance(Uint8Array, "expected a byte string");

export const PublishMessageSchema = v.pipe(
  v.object({
    topic: TopicSchema,
    data: BytesSchema,
    /** With seq: the identity of a retried publish, so that it is stored once. */
    producer: v.optional(ProducerIdSchema),
    seq: v.optional(WholeNumberSchema),
    /**
     * The producer's incarnation, from a `register` command (its log index). With it, seqs must be
     * stored in order (each the last stored + 1) and an older epoch is fenced off.
     */
    epoch: v.optional(PositiveNumberSchema),
    /**
     * With epoch: the lowest seq the producer still waits for (at most `seq`). Every seq below it was
     * acknowledged or given up, so the next seq moves up to it: a seq the client gave up on leaves no
     * hole, and a late copy of it is refused instead of stored.
     */
    low: v.optional(WholeNumberSchema),
    /** [key, value] pairs kept with the message (docs/messaging.md). */
    headers: v.optional(HeadersSchema),
    /** ms after the command's time when the message expires: never delivered from then on, and dropped once oldest. */
    ttl: v.optional(PositiveNumberSchema),
  }),
  v.check((m) => (m.producer === undefined) === (m.seq === undefined), "producer and seq must be given together"),
  v.check((m) => m.epoch === undefined || m.producer !== undefined, "epoch needs producer and seq"),
  v.check(
    (m) => m.low === undefined || (m.epoch !== undefined && m.low <= (m.seq ?? 0)),
    "low needs epoch and is at most seq",
  ),
);
export type PublishMessage = v.InferOutput<typeof PublishMessageSchema>;

export const PublishCommandSchema = v.object({
  type: v.literal("publish"),
  time: TimeSchema,
  /** A batch: the node packs many client publishes into one entry. A message's slot is its position here. */
  messages: v.array(PublishMessageSchema),
});

export { type Start, StartSchema };

export const SubscribeCommandSchema = v.object({
  type: v.literal("subscribe"),
  time: TimeSchema,
  name: SubscriptionNameSchema,
  /** Topics and patterns (`orders.*`, `orders.>`): a pattern also takes in every matching topic created later. */
  topics: v.pipe(
    v.array(TopicPatternSchema),
    v.minLength(1, "expected at least one topic"),
    v.maxLength(MAX_SUBSCRIPTION_TOPICS, `expected at most ${MAX_SUBSCRIPTION_TOPICS} topics`),
  ),
  from: StartSchema,
  /**
   * Who attaches to the subscription (a token the subscriber chose). A durable subscription has one
   * holder at a time: a subscribe with another holder takes it over, and the previous holder's
   * streams are ended and its acks refused (FENCED).
   */
  holder: v.optional(SubscriptionNameSchema),
});

export const UnsubscribeCommandSchema = v.object({
  type: v.literal("unsubscribe"),
  time: TimeSchema,
  ...DURABLE_FIELDS,
});

/**
 * Moves a durable subscription, in every topic it reads, to where a new one starting at `to` would start: one command,
 * so no reader sees it removed, and it keeps its patterns and holder (`mqraft durable seek`).
 */
export const SeekCommandSchema = v.object({
  type: v.literal("seek"),
  time: TimeSchema,
  ...SEEK_FIELDS,
});

export const AckCommandSchema = v.object({
  type: v.literal("ack"),
  time: TimeSchema,
  name: SubscriptionNameSchema,
  topic: TopicSchema,
  /** The offset of the last message the subscriber has processed. */
  offset: WholeNumberSchema,
  /** The subscriber acking; refused (FENCED) when another holder has taken the subscription over. */
  holder: v.optional(SubscriptionNameSchema),
});

/**
 * Starts a new incarnation of a producer id: its epoch is this command's log index, its seqs start
 * again at 0, and publishes under any older epoch are refused (FENCED).
 */
export const RegisterCommandSchema = v.object({
  type: v.literal("register"),
  time: TimeSchema,
  producer: ProducerIdSchema,
  /**
   * Who registers: a token one client incarnation keeps for all its attempts. A register with the session of the
   * producer's current epoch (a retry that arrived late) answers that epoch instead of fencing it.
   */
  session: v.optional(ProducerIdSchema),
  /**
   * 3 (REGISTER_ORDER_VERSION) when every member applies the ordering of incarnations by the start time their
   * sessions carry (producer-rules.ts registerProducer); absent, the register follows the rules of version 1.
   */
  v: v.optional(v.literal(3)),
});

/** Absent limits are unlimited. */
export const RetentionSchema = v.object({
  maxMessages: v.optional(PositiveNumberSchema),
  maxBytes: v.optional(PositiveNumberSchema),
  maxAgeMs: v.optional(PositiveNumberSchema),
});
export type Retention = v.InferOutput<typeof RetentionSchema>;

export const ConfigCommandSchema = v.object({
  type: v.literal("config"),
  time: TimeSchema,
  retention: RetentionSchema,
});

/** Drops a topic's oldest messages until at most `keep` are stored (`mqraft topic purge`); offsets are never reused. */
export const PurgeCommandSchema = v.object({
  type: v.literal("purge"),
  time: TimeSchema,
  ...PURGE_FIELDS,
});

/**
 * Moves the state machine's time only: the leader proposes it when nothing else has been committed for a second and
 * a retained message's TTL or the age limit has run out since, so that every replica drops the same messages at the
 * same entry on an idle cluster too.
 */
export const TickCommandSchema = v.object({ type: v.literal("tick"), time: TimeSchema });

export const CommandSchema = v.variant("type", [
  PublishCommandSchema,
  SubscribeCommandSchema,
  UnsubscribeCommandSchema,
  SeekCommandSchema,
  AckCommandSchema,
  ConfigCommandSchema,
  RegisterCommandSchema,
  PurgeCommandSchema,
  TickCommandSchema,
  ...GROUP_COMMAND_SCHEMAS,
  ...USER_COMMAND_SCHEMAS,
]);
export type Command = v.InferOutput<typeof CommandSchema>;
export type { GroupCommand };
export type PublishCommand = v.InferOutput<typeof PublishCommandSchema>;
export type SubscribeCommand = v.InferOutput<typeof SubscribeCommandSchema>;
export type UnsubscribeCommand = v.InferOutput<typeof UnsubscribeCommandSchema>;
export type SeekCommand = v.InferOutput<typeof SeekCommandSchema>;
export type AckCommand = v.InferOutput<typeof AckCommandSchema>;
export type RegisterCommand = v.InferOutput<typeof RegisterCommandSchema>;
export type ConfigCommand = v.InferOutput<typeof ConfigCommandSchema>;
export type PurgeCommand = v.InferOutput<typeof PurgeCommandSchema>;
export type TickCommand = v.InferOutput<typeof TickCommandSchema>;
