import * as v from "valibot";
import { PositiveNumberSchema, SubscriptionNameSchema, TopicSchema, WholeNumberSchema } from "../../util/names.ts";
import { TopicPatternSchema } from "../../util/topic-name.ts";
import { wholeNumbersSchema } from "../../util/whole-numbers.ts";

/**
 * The replicated commands of consumer groups (work queues): see docs/state-machine.md, "Consumer groups",
 * and groups.ts for what applying them does. Like every command they carry the leader's
 * `time`; ack-wait deadlines are computed from it, never from a replica's clock.
 */

/** Acks, naks or progress notes in one command at most: the node batches a member's acks of one turn. */
export const MAX_ACKS_PER_COMMAND = 1000;

export const GroupSettingsSchema = v.object({
  /** A delivery not acknowledged within this long (command time) is taken back and handed out again. */
  ackWaitMs: PositiveNumberSchema,
  /** Deliveries of one message at most; the last failed one sends it to the dead-letter topic. */
  maxDeliver: PositiveNumberSchema,
  deadLetter: TopicSchema,
  /** Unacknowledged deliveries one member holds at most (by count). */
  maxPending: PositiveNumberSchema,
  /** Where a new group starts in its topic. */
  from: v.picklist(["earliest", "latest"]),
});
export type GroupSettings = v.InferOutput<typeof GroupSettingsSchema>;

/** Creates the group (with these settings) if it does not exist, and makes `member` a live member of it. */
export const GroupJoinCommandSchema = v.object({
  type: v.literal("group-join"),
  time: WholeNumberSchema,
  group: SubscriptionNameSchema,
  /** A topic, or a pattern (`orders.>`): then the group reads every topic it matches, also those created later. */
  topic: TopicPatternSchema,
  member: SubscriptionNameSchema,
  settings: GroupSettingsSchema,
});

/** The member is gone: its unacknowledged deliveries count as failed attempts and are handed out again. */
export const GroupLeaveCommandSchema = v.object({
  type: v.literal("group-leave"),
  time: WholeNumberSchema,
  group: SubscriptionNameSchema,
  member: SubscriptionNameSchema,
});

export const AckKindSchema = v.picklist(["ack", "nak", "progress"]);
export type AckKind = v.InferOutput<typeof AckKindSchema>;

/**
 * `ack`: done, never delivered again; `nak`: failed, handed out again at once; `progress`: still
 * working, the ack wait starts again. Only the member a message is assigned to may settle it.
 */
export const GroupAckCommandSchema = v.object({
  type: v.literal("group-ack"),
  time: WholeNumberSchema,
  group: SubscriptionNameSchema,
  member: SubscriptionNameSchema,
  kind: AckKindSchema,
  /** None: the member only says it is alive (an idle member's heartbeat), which makes a stale member live again. */
  offsets: wholeNumbersSchema(0, MAX_ACKS_PER_COMMAND),
  /**
   * The delivery each settle is about (its attempt), one per offset: a late settle of an earlier delivery must not
   * settle the message handed to the same member again since (after a nak, an expiry, a leave and rejoin).
   */
  attempts: wholeNumbersSchema(1, MAX_ACKS_PER_COMMAND),
});

/** Moves the command time (proposed by the leader while a group's ack-wait deadline has passed). */
export const GroupTickCommandSchema = v.object({ type: v.literal("group-tick"), time: WholeNumberSchema });

/** Deletes a group and everything it holds (`mqraft group rm`). */
export const GroupRemoveCommandSchema = v.object({
  type: v.literal("group-rm"),
  time: WholeNumberSchema,
  group: SubscriptionNameSchema,
});

export const GROUP_COMMAND_SCHEMAS = [
  GroupJoinCommandSchema,
  GroupLeaveCommandSchema,
  GroupAckCommandSchema,
  GroupTickCommandSchema,
  GroupRemoveCommandSchema,
] as const;

export type GroupJoinCommand = v.InferOutput<typeof GroupJoinCommandSchema>;
export type GroupLeaveCommand = v.InferOutput<typeof GroupLeaveCommandSchema>;
export type GroupAckCommand = v.InferOutput<typeof GroupAckCommandSchema>;
export type GroupTickCommand = v.InferOutput<typeof GroupTickCommandSchema>;
export type GroupRemoveCommand = v.InferOutput<typeof GroupRemoveCommandSchema>;
export type GroupCommand =
  | GroupJoinCommand
  | GroupLeaveCommand
  | GroupAckCommand
  | GroupTickCommand
  | GroupRemoveCommand;

export type GroupResult =
  | { type: "group-join"; group: string; member: string; created: boolean }
  | { type: "group-leave"; group: string; member: string; returned: number }
  | { type: "group-ack"; group: string; kind: AckKind; settled: number[]; refused: number[] }
  | { type: "group-tick" }
  | { type: "group-rm"; group: string };
