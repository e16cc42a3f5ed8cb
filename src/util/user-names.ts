import * as v from "valibot";

/** The fields of a user (docs/security.md), shared by the replicated commands, the wire and the CLI. */

/** User names go into tokens (`mqraft:<name>:<secret>`), so they have no `:`; short and printable. */
export const UserNameSchema = v.pipe(
  v.string("expected a user name"),
  v.regex(
    /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/,
    "expected a user name: 1 to 64 of A-Z a-z 0-9 . _ - (first a letter or digit)",
  ),
);

/** Patterns a user may publish or subscribe to (src/auth/topic-permission.ts gives their meaning). */
export const MAX_PATTERNS = 100;
export const PermissionPatternSchema = v.pipe(
  v.string("expected a topic pattern"),
  v.minLength(1, "expected a topic pattern of 1 to 255 characters"),
  v.maxLength(255, "expected a topic pattern of 1 to 255 characters"),
  // nothing that prints ambiguously: no whitespace, no control characters
  v.regex(/^[^\s\p{Cc}]+$/u, "expected a topic pattern without whitespace or control characters"),
);
const PatternsSchema = v.pipe(
  v.array(PermissionPatternSchema),
  v.maxLength(MAX_PATTERNS, `expected at most ${MAX_PATTERNS} patterns`),
);

/** A `Bun.password` hash (PHC string); bounded so that a command cannot carry a huge one. */
export const TokenHashSchema = v.pipe(
  v.string("expected a token hash"),
  v.minLength(1, "expected a token hash"),
  v.maxLength(512, "expected a token hash of at most 512 characters"),
);

export const PermissionsSchema = v.object({
  publish: PatternsSchema,
  subscribe: PatternsSchema,
  admin: v.boolean(),
});
export type Permissions = v.InferOutput<typeof PermissionsSchema>;
