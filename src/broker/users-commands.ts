import * as v from "valibot";
import { PermissionsSchema, TokenHashSchema, UserNameSchema } from "../util/user-names.ts";

/**
 * The replicated commands that change the users (docs/security.md): added, removed, or given a new token. Only a
 * hash of each token is in the log (`Bun.password`, computed by the leader that proposes the command), never the
 * token itself, so the log, snapshots and every follower's disk hold nothing a client could log in with.
 */

const time = v.pipe(v.number(), v.safeInteger("expected a whole number"), v.minValue(0));

export const UserAddCommandSchema = v.object({
  type: v.literal("user-add"),
  time,
  name: UserNameSchema,
  hash: TokenHashSchema,
  ...PermissionsSchema.entries,
});

export const UserRemoveCommandSchema = v.object({
  type: v.literal("user-remove"),
  time,
  name: UserNameSchema,
});

/** A new token for an existing user: the old one stops working on every broker once this is applied. */
export const UserRotateCommandSchema = v.object({
  type: v.literal("user-rotate"),
  time,
  name: UserNameSchema,
  hash: TokenHashSchema,
});

export const USER_COMMAND_SCHEMAS = [UserAddCommandSchema, UserRemoveCommandSchema, UserRotateCommandSchema] as const;

export type UserAddCommand = v.InferOutput<typeof UserAddCommandSchema>;
export type UserRemoveCommand = v.InferOutput<typeof UserRemoveCommandSchema>;
export type UserRotateCommand = v.InferOutput<typeof UserRotateCommandSchema>;
export type UserCommand = UserAddCommand | UserRemoveCommand | UserRotateCommand;
