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

export const GroupSettingsSchema = v.object(GROUP_SETTINGS_FIELDS);
export type GroupSettings = v.InferOutput<typeof GroupSettingsSchema>;

/** Creates the group (with these settings) if it does not exist, and makes `member` a live member of it. */
export const GroupJoinCommandSchema = v.object({
  type: v.literal("group-join"),
  time: WholeNumberSchema,
  ...GROUP_JOIN_FIELDS,
  settings: GroupSettingsSchema,
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
