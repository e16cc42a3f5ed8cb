import * as v from "valibot";
import { WholeNumberSchema } from "../util/names.ts";
import { PermissionsSchema, TokenHashSchema, UserNameSchema } from "../util/user-names.ts";
import { uniqueNames } from "./snapshot-format.ts";
import type { UserRecord } from "./users.ts";

/** The client users' section of a snapshot (users.ts), in the order they were added; absent when there are none. */

export const UserSchema = v.object({
  name: UserNameSchema,
  hash: TokenHashSchema,
  ...PermissionsSchema.entries,
  created: WholeNumberSchema,
  rotated: WholeNumberSchema,
});

export function restoreUsers(entries: UserRecord[]): UserRecord[] {
  const unique = uniqueNames("user");
  return entries.map((u) => {
    unique(u.name);
    return { ...u };
  });
}
