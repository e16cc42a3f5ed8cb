import * as v from "valibot";

export { TopicSchema } from "./topic-name.ts";

/**
 * Durable subscription names and producer ids share one alphabet: letters, digits
 * and `. _ - / :`, 1 to 255 characters. No whitespace or control characters, so a name prints
 * unambiguously in logs and `--json` output; nothing beyond that is reserved.
 */
export const NAME_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-/:";
export const NAME_PATTERN = new RegExp(`^[${NAME_ALPHABET.replace(/[-\\\]^]/g, "\\$&")}]+$`);
export const MAX_NAME_LENGTH = 255;

function nameSchema(what: string) {
  const message = `expected a ${what}: 1 to ${MAX_NAME_LENGTH} characters of A-Z a-z 0-9 . _ - / :`;
  return v.pipe(
    v.string(message),
    v.minLength(1, message),
    v.maxLength(MAX_NAME_LENGTH, message),
    v.regex(NAME_PATTERN, message),
  );
}

export const SubscriptionNameSchema = nameSchema("subscription name");
export const ProducerIdSchema = nameSchema("producer id");

/** Offsets, sequence numbers, times and log indexes: whole numbers a double holds exactly. */
export const WholeNumberSchema = v.pipe(
  v.number(),
  v.safeInteger("expected a whole number"),
  v.minValue(0, "expected a number of at least 0"),
);
export const PositiveNumberSchema = v.pipe(
  v.number(),
  v.safeInteger("expected a whole number"),
  v.minValue(1, "expected a number of at least 1"),
);
