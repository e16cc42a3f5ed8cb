import * as v from "valibot";
import { GROUP_ACK_FIELDS, GROUP_JOIN_FIELDS, GROUP_SETTINGS_FIELDS } from "../../util/group-fields.ts";
import { HeadersSchema } from "../../util/message-headers.ts";
import { SubscriptionNameSchema, TopicSchema } from "../../util/names.ts";
import { TopicPatternSchema } from "../../util/topic-name.ts";
import { ByteCountSchema } from "./fields.ts";

/**
 * Consumer groups (work queues) on the wire: a member joins with `consume` and gets `group-message` pushes, each
 * message it holds until it settles it with `group-ack` (ack, nak or progress). Served by the leader, which proposes
 * every change to the group through the Raft log; another broker answers NOT_LEADER with the leader's address. The
 * requests carry the fields of the commands they lead to (util/group-fields.ts).
 */
const RequestIdSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const CountSchema = ByteCountSchema;
const LimitSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(1));
/** A group name leaves room for the dead-letter producer id's prefix (`mqraft-dlq:`) within 255 characters. */
export const GroupNameSchema = v.pipe(
  SubscriptionNameSchema,
  v.maxLength(244, "a group name has at most 244 characters"),
);

export const ConsumeSchema = v.object({
  type: v.literal("consume"),
  id: RequestIdSchema,
  ...GROUP_JOIN_FIELDS,
  group: GroupNameSchema,
  /** The settings apply when this consume creates the group; a group keeps those it was created with. */
  ...v.partial(v.object(GROUP_SETTINGS_FIELDS)).entries,
  /**
   * The member takes `group-messages` pushes (several messages a frame). A broker from before them ignores the
   * field and sends `group-message`s, which a client that asks must still take.
   */
  batch: v.optional(v.boolean()),
  /**
   * The member also takes `group-run` pushes (consecutive messages of one delivery attempt, the topic and offsets
   * given once). A broker from before them ignores the field; a client that asks must still take the others.
   */
  runs: v.optional(v.boolean()),
});

/** The answer to `consume`: the member's messages come as `group-message` pushes under `subscription`. */
export const ConsumingSchema = v.object({
  type: v.literal("consuming"),
  id: RequestIdSchema,
  subscription: CountSchema,
  /** The group's ack wait (the one it was created with, which may differ from the one this consume asked for). */
  ackWaitMs: LimitSchema,
  /**
   * The broker takes `ranges` in this member's group-acks. A broker from before them does not say so, and would
   * drop the field (settling nothing): a client sends ranges only where this is true.
   */
  ranges: v.optional(v.boolean()),
});

export const GroupMessageSchema = v.object({
  type: v.literal("group-message"),
  subscription: CountSchema,
  topic: TopicSchema,
  offset: CountSchema,
  /** 1 for the first delivery of this message (to any member), 2 for the first redelivery, ... (a whole number, as
   * the hot codecs write it: this push is sent once per message) */
  attempt: CountSchema,
  data: v.instance(Uint8Array),
  /** When the leader proposed the message's entry, in ms since the epoch. */
  time: v.optional(CountSchema),
  headers: v.optional(HeadersSchema),
  /**
   * In a group on a topic pattern, the number the group gave the message, which its settles name (messages of
   * several topics can share an offset); absent in a group on one topic, whose settles name the offset.
   */
  key: v.optional(CountSchema),
});

/** One message of a `group-messages` push: the fields of a `group-message` but its type and subscription. */
export const GroupMessageItemSchema = v.omit(GroupMessageSchema, ["type", "subscription"]);

/**
 * Several messages the group gave this member, in the order given, to a member that asked for them (`consume`'s
 * `batch`): one frame, and one header, for what a broker has for the member at once. Sent once per message too:
 * written and read by the hot codecs.
 */
export const GroupMessagesSchema = v.object({
  type: v.literal("group-messages"),
  subscription: CountSchema,
  messages: v.array(GroupMessageItemSchema),
});

/** One message of a `group-run` push: its offset is the run's first plus its place in the run. */
export const GroupRunItemSchema = v.object({
  data: v.instance(Uint8Array),
  /** When the leader proposed the message's entry, in ms since the epoch. */
  time: v.optional(CountSchema),
  headers: v.optional(HeadersSchema),
});

/**
 * Consecutive messages of one topic, from `offset` on, given to this member in one delivery attempt each, to a
 * member that asked for them (`consume`'s `runs`): the topic, the offsets and the attempt once a push instead of once a
 * message (a group hands out runs, so most of what a member gets is such runs). Sent once per message too: written and
 * read by the hot codecs.
 */
export const GroupRunSchema = v.object({
  type: v.literal("group-run"),
  subscription: CountSchema,
  topic: TopicSchema,
  /** The offset of the first message of `messages`; the others follow it one by one. */
  offset: CountSchema,
  attempt: CountSchema,
  messages: v.array(GroupRunItemSchema),
});

/**
 * The leader asks a member whose deliveries expired (it gets nothing new meanwhile) whether it is there, when the
 * group has messages waiting: a member that answers with a heartbeat (a group-ack of no offset) takes messages again,
 * one that is frozen (stopped, hung) does not answer, and stays out.
 */
export const GroupPingSchema = v.object({
  type: v.literal("group-ping"),
  subscription: CountSchema,
});

/** Settles messages the member holds; a member's settles of one turn go in one request. */
export const GroupAckSchema = v.object({
  type: v.literal("group-ack"),
  id: RequestIdSchema,
  ...GROUP_ACK_FIELDS,
  group: GroupNameSchema,
});

/** The answer to `group-ack`: the offsets not settled, because the member did not hold that delivery. */
export const GroupAckedSchema = v.object({
  type: v.literal("group-acked"),
  id: RequestIdSchema,
  refused: v.array(CountSchema),
});

export const ListGroupsSchema = v.object({
  type: v.literal("list-groups"),
  id: RequestIdSchema,
  name: v.optional(SubscriptionNameSchema),
});

export const RemoveGroupSchema = v.object({
  type: v.literal("remove-group"),
  id: RequestIdSchema,
  name: SubscriptionNameSchema,
});

export const GroupMemberSummarySchema = v.object({
  name: SubscriptionNameSchema,
  /** False after a delivery to it expired, until it acks or joins again. */
  live: v.boolean(),
  /** Messages it holds unacknowledged. */
  holding: CountSchema,
});

export const DeadLetterSummarySchema = v.object({
  offset: CountSchema,
  deliveries: CountSchema,
  reason: v.picklist(["nak", "ack-wait", "member-left"]),
  /** Its offset on the dead-letter topic; absent while it waits to be published there. */
  deadLetterOffset: v.optional(CountSchema),
  /** Its topic, in a group on a topic pattern. */
  topic: v.optional(TopicSchema),
});

export const GroupSummarySchema = v.object({
  name: SubscriptionNameSchema,
  /** The topic it reads, or its pattern. */
  topic: TopicPatternSchema,
  ackWaitMs: LimitSchema,
  maxDeliver: LimitSchema,
  maxPending: LimitSchema,
  deadLetter: TopicSchema,
  /** The longest run of consecutive messages it hands a member at once; absent: one at a time, in turn. */
  run: v.optional(LimitSchema),
  /** Where the group started in its topic. */
  start: CountSchema,
  /** The next offset of the topic never handed out. */
  next: CountSchema,
  /** Delivered and not acknowledged yet. */
  outstanding: CountSchema,
  /** Waiting to be delivered again (naked, expired, or held by a member that left). */
  redeliveries: CountSchema,
  acked: CountSchema,
  redelivered: CountSchema,
  deadLettered: CountSchema,
  /** Removed by retention before the group finished them. */
  dropped: CountSchema,
  members: v.array(GroupMemberSummarySchema),
  /** The latest dead letters, oldest first (those still waiting first). */
  deadLetters: v.array(DeadLetterSummarySchema),
});

export const GroupListSchema = v.object({
  type: v.literal("group-list"),
  id: RequestIdSchema,
  groups: v.array(GroupSummarySchema),
});

export type Consume = v.InferOutput<typeof ConsumeSchema>;
export type Consuming = v.InferOutput<typeof ConsumingSchema>;
export type GroupMessage = v.InferOutput<typeof GroupMessageSchema>;
export type GroupMessageItem = v.InferOutput<typeof GroupMessageItemSchema>;
export type GroupMessages = v.InferOutput<typeof GroupMessagesSchema>;
export type GroupRun = v.InferOutput<typeof GroupRunSchema>;
export type GroupRunItem = v.InferOutput<typeof GroupRunItemSchema>;
export type GroupPing = v.InferOutput<typeof GroupPingSchema>;
export type GroupAck = v.InferOutput<typeof GroupAckSchema>;
export type GroupAcked = v.InferOutput<typeof GroupAckedSchema>;
export type ListGroups = v.InferOutput<typeof ListGroupsSchema>;
export type RemoveGroup = v.InferOutput<typeof RemoveGroupSchema>;
export type GroupSummary = v.InferOutput<typeof GroupSummarySchema>;
export type GroupList = v.InferOutput<typeof GroupListSchema>;
