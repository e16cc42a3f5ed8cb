import * as v from "valibot";
import { type AckKind, GROUP_ACK_FIELDS, GROUP_JOIN_FIELDS, GROUP_SETTINGS_FIELDS } from "../../util/group-fields.ts";
import { SubscriptionNameSchema, WholeNumberSchema } from "../../util/names.ts";

/**
 * The replicated commands of consumer groups (work queues): see docs/state-machine.md, "Consumer groups",
 * and groups.ts for what applying them does. Like every command they carry the leader's
 * `time`; ack-wait deadlines are computed from it, never from a replica's clock. Their fields are those of the
 * requests that lead to them (util/group-fields.ts).
 */

export type { AckKind };

/**
 * Command version 4: a group created with `run` hands each member runs of consecutive messages (group.ts fill), and a
 * group-ack may settle `ranges`. The leader creates such groups and proposes such acks, stamped `v: 4`, only once
 * every member applies version 4 (docs/state-machine.md, "Command versions").
 */
export const GROUP_RUNS_VERSION = 4;
/** The longest run a group hands one member at once. */
export const MAX_RUN = 1000;

export const GroupSettingsSchema = v.object({
  ...GROUP_SETTINGS_FIELDS,
  /**
   * Messages handed to one member at once at most, consecutive (version 4); absent: one at a time, members in turn.
   * Set by the leader, not by a member.
   */
  run: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(1), v.maxValue(MAX_RUN))),
});
export type GroupSettings = v.InferOutput<typeof GroupSettingsSchema>;

/** Creates the group (with these settings) if it does not exist, and makes `member` a live member of it. */
export const GroupJoinCommandSchema = v.object({
  type: v.literal("group-join"),
  time: WholeNumberSchema,
  ...GROUP_JOIN_FIELDS,
  settings: GroupSettingsSchema,
  /** GROUP_RUNS_VERSION when `settings.run` is set: an older replica stops at it rather than ignore the run. */
  v: v.optional(v.literal(GROUP_RUNS_VERSION)),
});

/** The member is gone: its unacknowledged deliveries count as failed attempts and are handed out again. */
export const GroupLeaveCommandSchema = v.object({
  type: v.literal("group-leave"),
  time: WholeNumberSchema,
  group: SubscriptionNameSchema,
  member: SubscriptionNameSchema,
});

/** Settles messages (ack, nak or progress); only the member a message is assigned to may settle it. */
export const GroupAckCommandSchema = v.object({
  type: v.literal("group-ack"),
  time: WholeNumberSchema,
  ...GROUP_ACK_FIELDS,
  /** GROUP_RUNS_VERSION when it carries `ranges`: an older replica would drop them and settle nothing. */
  v: v.optional(v.literal(GROUP_RUNS_VERSION)),
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
  | { type: "group-ack"; group: string; kind: AckKind; settled: number; refused: number[] }
  | { type: "group-tick" }
  | { type: "group-rm"; group: string };
