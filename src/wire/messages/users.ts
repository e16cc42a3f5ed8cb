import * as v from "valibot";
import { PermissionsSchema, UserNameSchema } from "../../util/user-names.ts";

/**
 * `mqraft user ...`: admin requests served by the leader (docs/security.md). A new token crosses the wire once, in
 * the `user-token` answer to the add or rotate that made it; the cluster keeps only its hash.
 */
const RequestIdSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const TimeSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(0));

export const AddUserSchema = v.object({
  type: v.literal("add-user"),
  id: RequestIdSchema,
  name: UserNameSchema,
  // the same permissions as the user-add command the leader proposes (util/user-names.ts)
  ...PermissionsSchema.entries,
});

export const RemoveUserSchema = v.object({ type: v.literal("remove-user"), id: RequestIdSchema, name: UserNameSchema });

export const RotateUserSchema = v.object({ type: v.literal("rotate-user"), id: RequestIdSchema, name: UserNameSchema });

export const ListUsersSchema = v.object({ type: v.literal("list-users"), id: RequestIdSchema });

/** The answer to add-user and rotate-user: the user's new token, shown once. */
export const UserTokenSchema = v.object({
  type: v.literal("user-token"),
  id: RequestIdSchema,
  name: UserNameSchema,
  token: v.pipe(v.string(), v.maxLength(1024)),
});

export const UserSummarySchema = v.object({
  name: UserNameSchema,
  ...PermissionsSchema.entries,
  /** When it was added and when its token was last rotated (ms since the epoch, the leader's clock). */
  created: TimeSchema,
  rotated: TimeSchema,
});

export const UserListSchema = v.object({
  type: v.literal("user-list"),
  id: RequestIdSchema,
  users: v.array(UserSummarySchema),
});

export const USER_REQUEST_SCHEMAS = [AddUserSchema, RemoveUserSchema, RotateUserSchema, ListUsersSchema] as const;
export const USER_REPLY_SCHEMAS = [UserTokenSchema, UserListSchema] as const;

export type AddUser = v.InferOutput<typeof AddUserSchema>;
export type RemoveUser = v.InferOutput<typeof RemoveUserSchema>;
export type RotateUser = v.InferOutput<typeof RotateUserSchema>;
export type ListUsers = v.InferOutput<typeof ListUsersSchema>;
export type UserToken = v.InferOutput<typeof UserTokenSchema>;
export type UserSummary = v.InferOutput<typeof UserSummarySchema>;
export type UserList = v.InferOutput<typeof UserListSchema>;
export type UserRequest = AddUser | RemoveUser | RotateUser | ListUsers;
