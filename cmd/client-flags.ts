import * as v from "valibot";
import { firstIssue } from "../src/util/config-values.ts";
import { TopicSchema } from "../src/util/names.ts";
import { TopicPatternSchema } from "../src/util/topic-name.ts";
import type { SubscribeFrom } from "../src/wire/index.ts";
import { usageError } from "./cli-runner.ts";

/** Flag values the client commands share. */

/** Timers treat anything above 2^31 - 1 ms (about 24 days) as 1 ms. */
const MAX_SECONDS = 2_000_000;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/**
 * A duration in the one syntax every duration flag takes ("500ms", "5s", "10m", "2h", "7d"), more than 0; a bare
 * number counts as seconds here, as --timeout always did. The result is in milliseconds.
 */
export const TimeoutSchema = v.pipe(
  v.string(),
  v.regex(/^\d+(\.\d+)?(ms|s|m|h|d)?$/, 'expected a duration like "500ms", "5s" or "10m" (a bare number is seconds)'),
  v.transform((s) => {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/.exec(s) as RegExpExecArray;
    return Number(match[1]) * (UNIT_MS[match[2] ?? "s"] as number);
  }),
  v.check((ms) => ms > 0, "expected more than 0"),
  v.maxValue(MAX_SECONDS * 1000, `expected at most ${MAX_SECONDS} seconds`),
  v.transform((ms) => Math.max(1, Math.round(ms))),
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
    description: `How long to wait ${what}, e.g. 500ms, 5s, 1m (default ${defaultSeconds}s)`,
    valueHint: "DURATION",
  }) as const;

/** Topic names (or, with `patterns`, topic patterns) given as positional arguments; the message names the bad one. */
export function parseTopics(raw: readonly string[], patterns = false): string[] {
  if (raw.length === 0) throw usageError("a topic is needed");
  for (const topic of raw) {
    const result = v.safeParse(patterns ? TopicPatternSchema : TopicSchema, topic);
    if (!result.success) throw usageError(`topic ${JSON.stringify(topic)}: ${firstIssue(result.issues)}`);
  }
  return [...raw];
}
