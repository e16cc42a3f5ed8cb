import { TopicPattern } from "../util/topic-pattern.ts";

/**
 * What a user's `--publish` / `--subscribe` pattern allows (docs/security.md). Topics are `.`-separated tokens; in
 * a pattern, a token `*` stands for exactly one token and a last token `>` for one or more, as in a wildcard
 * subscription (the matching is the subscriptions' own, src/util/topic-pattern.ts). Besides, a pattern whose last
 * character is a `*` right after something other than a `.` (`orders*`) allows every topic that starts with what
 * comes before the `*`, across tokens. Any other pattern allows the one topic it names.
 */

const SEPARATOR = ".";

/** A prefix pattern (`orders*`): what a topic must start with; undefined for a token pattern. */
function prefixOf(pattern: string): string | undefined {
  if (pattern.length < 2 || !pattern.endsWith("*")) return undefined;
  const before = pattern[pattern.length - 2];
  return before === SEPARATOR ? undefined : pattern.slice(0, -1);
}

const isWildcard = (token: string): boolean => token === "*" || token === ">";

/** Whether `topic` (a topic name, no wildcard in it) is allowed by `pattern`. */
export function patternMatches(pattern: string, topic: string): boolean {
  const prefix = prefixOf(pattern);
  if (prefix !== undefined) return topic.startsWith(prefix);
  return pattern === topic || new TopicPattern(pattern).matches(topic);
}

/**
 * Whether everything `requested` (a topic, or a subscription pattern with `*` / `>` tokens) can deliver is allowed
 * by `pattern`: a subscription to `orders.>` needs a pattern that allows every topic under `orders.`, not one of
 * them. For a topic this is patternMatches.
 */
export function patternCovers(pattern: string, requested: string): boolean {
  const asked = requested.split(SEPARATOR);
  const firstWildcard = asked.findIndex(isWildcard);
  if (firstWildcard < 0) return patternMatches(pattern, requested);
  const prefix = prefixOf(pattern);
  // what every topic the request can deliver starts with: its tokens before the first wildcard, and a separator
  if (prefix !== undefined) return `${asked.slice(0, firstWildcard).join(SEPARATOR)}${SEPARATOR}`.startsWith(prefix);
  const want = pattern.split(SEPARATOR);
  for (let i = 0; i < want.length; i++) {
    const token = want[i] as string;
    if (token === ">" && i === want.length - 1) return asked.length > i;
    if (i >= asked.length) return false;
    const a = asked[i] as string;
    // `>` in the request may stand for more tokens than the pattern has left, so only a `>` covers it
    if (a === ">") return false;
    if (token === "*") continue;
    if (a === "*" || token !== a) return false;
  }
  return want.length === asked.length;
}

/** Whether any of `patterns` covers `requested`. */
export function anyCovers(patterns: readonly string[], requested: string): boolean {
  for (const pattern of patterns) if (patternCovers(pattern, requested)) return true;
  return false;
}
