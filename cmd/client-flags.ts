import * as v from "valibot";
import { firstIssue } from "../src/util/config-values.ts";
import { TopicSchema } from "../src/util/names.ts";
import type { SubscribeFrom } from "../src/wire/index.ts";
import { usageError } from "./cli-runner.ts";

/** Flag values the client commands share. */

/** Timers treat anything above 2^31 - 1 ms (about 24 days) as 1 ms. */
const MAX_SECONDS = 2_000_000;

/** "5", "0.5": seconds, more than 0; the result is in milliseconds. */
export const SecondsSchema = v.pipe(
  v.string(),
  v.regex(/^\d+(\.\d+)?$/, "expected a number of seconds, like 5 or 0.5"),
  v.transform(Number),
  v.check((s) => s > 0, "expected more than 0 seconds"),
  v.maxValue(MAX_SECONDS, `expected at most ${MAX_SECONDS} seconds`),
  v.transform((s) => Math.max(1, Math.round(s * 1000))),
);

/** "earliest", "latest" or an offset. */
export const FromSchema = v.pipe(
  v.string(),
  v.regex(/^(earliest|latest|\d+)$/, "expected earliest, latest or an offset (a whole number)"),
  v.transform((s): SubscribeFrom => (s === "earliest" || s === "latest" ? s : Number(s))),
  v.check((from) => typeof from === "string" || Number.isSafeInteger(from), "offset too large"),
);

export const timeoutArg = (defaultSeconds: number, what: string) =>
  ({
    type: "string",
    description: `Seconds to wait ${what} (default ${defaultSeconds})`,
    valueHint: "S",
  }) as const;

/** Topic names given as positional arguments; the message names the bad one. */
export function parseTopics(raw: readonly string[]): string[] {
  if (raw.length === 0) throw usageError("a topic is needed");
  for (const topic of raw) {
    const result = v.safeParse(TopicSchema, topic);
    if (!result.success) throw usageError(`topic ${JSON.stringify(topic)}: ${firstIssue(result.issues)}`);
  }
  return [...raw];
}
