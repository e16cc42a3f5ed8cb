import * as v from "valibot";

/**
 * Topic names and topic patterns (docs/messaging.md). A topic name is 1 to 255 bytes of UTF-8 of any characters
 * but whitespace, control characters and the wildcards `*` and `>`; `.` separates its tokens. A pattern is a name
 * some of whose tokens are `*` (exactly one token) or a last token `>` (one or more tokens). Brokers compare names
 * as they are, byte for byte; the client library brings them to Unicode NFC first, so that the two ways of writing
 * `é` name one topic.
 *
 * Subscription names and producer ids keep the ASCII alphabet of names.ts.
 */

export const MAX_TOPIC_BYTES = 255;
export const TOKEN_SEPARATOR = ".";
export const ONE_TOKEN = "*";
export const REST_TOKENS = ">";

/** Characters a topic never holds: whitespace, controls, the wildcards, and lone surrogates (not UTF-8). */
const FORBIDDEN = /[\p{White_Space}\p{Cc}\p{Cs}*>]/u;

/** Bytes of `s` in UTF-8 (a lone surrogate counts as the 3 bytes of U+FFFD, as TextEncoder writes it). */
export function utf8Length(s: string): number {
  let n = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) n += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 2; // a pair: 2 units, 4 bytes
      i++;
    } else n += 2;
  }
  return n;
}

function describeChar(c: string): string {
  return `U+${(c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0")}`;
}

/** Why `name` is not a topic name, or undefined when it is one. */
export function topicProblem(name: unknown): string | undefined {
  if (typeof name !== "string") return "a topic name is a string";
  if (name.length === 0) return "a topic name is 1 to 255 bytes of UTF-8, not empty";
  const bytes = utf8Length(name);
  if (bytes > MAX_TOPIC_BYTES) return `a topic name is at most ${MAX_TOPIC_BYTES} bytes of UTF-8, not ${bytes}`;
  const bad = FORBIDDEN.exec(name);
  if (bad === null) return undefined;
  const c = bad[0];
  if (c === ONE_TOKEN || c === REST_TOKENS)
    return `"${c}" is a wildcard: it may appear in a subscription's pattern, never in a topic name`;
  return `a topic name holds no whitespace or control characters (${describeChar(c)} at character ${bad.index + 1})`;
}

export function isTopicName(name: string): boolean {
  return topicProblem(name) === undefined;
}

/** Why `pattern` is neither a topic name nor a pattern, or undefined when it is one of them. */
export function patternProblem(pattern: unknown): string | undefined {
  if (typeof pattern !== "string") return "a topic pattern is a string";
  const tokens = pattern.split(TOKEN_SEPARATOR);
  const length = utf8Length(pattern);
  if (length === 0 || length > MAX_TOPIC_BYTES)
    return `a topic or pattern is 1 to ${MAX_TOPIC_BYTES} bytes of UTF-8, not ${length}`;
  for (const [i, token] of tokens.entries()) {
    if (token === ONE_TOKEN) continue;
    if (token === REST_TOKENS) {
      if (i !== tokens.length - 1) return `">" matches the rest of a topic: it is only the last token of a pattern`;
      continue;
    }
    if (token.includes(ONE_TOKEN) || token.includes(REST_TOKENS))
      return `a wildcard is a whole token ("orders.*", "orders.>"), not part of one ("${token}")`;
    const bad = FORBIDDEN.exec(token);
    if (bad !== null)
      return `a topic pattern holds no whitespace or control characters (${describeChar(bad[0])} in token ${i + 1})`;
  }
  return undefined;
}

/** Whether `pattern` holds a wildcard token (so that it names a set of topics rather than one). */
export function isWildcard(pattern: string): boolean {
  return pattern.includes(ONE_TOKEN) || pattern.includes(REST_TOKENS);
}

export const TopicSchema = v.pipe(
  v.string("expected a topic name"),
  v.check(isTopicName, (issue) => `expected a topic name: ${topicProblem(issue.input)}`),
);

/** What a subscription names: a topic, or a pattern of topics. */
export const TopicPatternSchema = v.pipe(
  v.string("expected a topic or a topic pattern"),
  v.check(
    (s) => patternProblem(s) === undefined,
    (issue) => `expected a topic or a topic pattern: ${patternProblem(issue.input)}`,
  ),
);

/** The form brokers compare: Unicode NFC (client library side; brokers never rewrite a name). */
export function normalizeTopic(name: string): string {
  // ASCII is its own NFC; checking is cheaper than normalising on every publish
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) >= 0x80) return name.normalize("NFC");
  return name;
}

/**
 * Characters printed as an escape rather than as themselves: what is invisible or could pass for something else
 * (format characters such as zero-width spaces and direction marks, unassigned and private-use code points,
 * combining marks with nothing before them to combine with, and the quote and backslash of the escaped form).
 */
const UNCLEAR = /[\p{Cf}\p{Cn}\p{Co}\p{Cs}\p{Zl}\p{Zp}"\\]|^\p{M}/gu;

/**
 * A topic or pattern as a person reads it in logs and tables: as it is when every character shows itself, else
 * in double quotes with `\u{…}` for each unclear character. A plain name never starts with `"`, so the two
 * forms never collide.
 */
export function showTopic(name: string): string {
  UNCLEAR.lastIndex = 0;
  if (!UNCLEAR.test(name)) return name;
  UNCLEAR.lastIndex = 0;
  return `"${name.replace(UNCLEAR, (c) => (c === '"' || c === "\\" ? `\\${c}` : escapeChar(c)))}"`;
}

function escapeChar(c: string): string {
  let out = "";
  for (const ch of c) out += `\\u{${(ch.codePointAt(0) ?? 0).toString(16).toUpperCase()}}`;
  return out;
}

/**
 * JSON.stringify, with every unclear character of showTopic written as a `\uXXXX` escape: the same value to a
 * JSON reader, and nothing invisible on a person's screen.
 */
export function clearJson(value: unknown): string {
  return JSON.stringify(value).replace(JSON_UNCLEAR, (c) => {
    let out = "";
    for (let i = 0; i < c.length; i++) out += `\\u${c.charCodeAt(i).toString(16).padStart(4, "0")}`;
    return out;
  });
}

const JSON_UNCLEAR = /[\p{Cf}\p{Cn}\p{Co}\p{Cs}\p{Zl}\p{Zp}]/gu;
