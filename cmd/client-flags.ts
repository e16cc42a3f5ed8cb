import * as v from "valibot";
import { firstIssue } from "../src/util/config-values.ts";
import { TopicSchema } from "../src/util/names.ts";
import { TopicPatternSchema } from "../src/util/topic-name.ts";
import type { SubscribeFrom, SubscribeStart } from "../src/wire/index.ts";
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

/** RFC 3339: a date, `T`, a time to the second with optional fractions, and `Z` or an offset. */
const RFC3339 = /^\d{4}-\d\d-\d\d[Tt]\d\d:\d\d:\d\d(\.\d+)?([Zz]|[+-]\d\d:\d\d)$/;

/** `sub --from`: FromSchema, or an RFC 3339 time (the first message stored at or after it, per topic). */
export const StartFlagSchema = v.union(
  [
    FromSchema,
    v.pipe(
      v.string(),
      v.regex(RFC3339),
      v.transform((s): SubscribeStart => ({ time: Date.parse(s) })),
      v.check(
        (start) => Number.isSafeInteger((start as { time: number }).time) && (start as { time: number }).time >= 0,
      ),
    ),
  ],
  "expected earliest, latest, an offset (a whole number) or an RFC 3339 time such as 2026-12-06T10:00:00Z",
);

/** `sub --since`: how far back from now, with a unit. */
export const SinceSchema = v.pipe(
  v.string(),
  v.regex(/^\d+(\.\d+)?(ms|s|m|h|d)$/, 'expected a duration with a unit, like "90s", "10m", "2h" or "7d"'),
  v.transform((s) => {
    const match = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(s) as RegExpExecArray;
    return Math.round(Number(match[1]) * (UNIT_MS[match[2] as string] as number));
  }),
  v.safeInteger("duration too large"),
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
