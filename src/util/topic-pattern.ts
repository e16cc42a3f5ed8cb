import { isWildcard, ONE_TOKEN, REST_TOKENS, TOKEN_SEPARATOR } from "./topic-name.ts";

/**
 * A subscription's topic pattern, NATS style (docs/messaging.md): tokens separated by `.`, `*` matching exactly one
 * token, a last `>` matching one or more. A pattern without a wildcard matches only the topic of that name. The
 * syntax is checked where patterns enter (TopicPatternSchema); here a pattern is taken as valid.
 */
export class TopicPattern {
  readonly tokens: readonly string[];
  /** Whether the last token is `>`. */
  readonly rest: boolean;

  constructor(readonly text: string) {
    const tokens = text.split(TOKEN_SEPARATOR);
    this.rest = tokens[tokens.length - 1] === REST_TOKENS;
    this.tokens = this.rest ? tokens.slice(0, -1) : tokens;
  }

  matches(topic: string): boolean {
    return this.matchesTokens(topic.split(TOKEN_SEPARATOR));
  }

  matchesTokens(topic: readonly string[]): boolean {
    const { tokens } = this;
    if (this.rest ? topic.length <= tokens.length : topic.length !== tokens.length) return false;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i] as string;
      if (t !== ONE_TOKEN && t !== topic[i]) return false;
    }
    return true;
  }
}

/** A subscription's list split in two: the topics named outright, and the patterns with a wildcard. */
export function splitPatterns(list: readonly string[]): { topics: string[]; patterns: TopicPattern[] } {
  const topics: string[] = [];
  const patterns: TopicPattern[] = [];
  for (const entry of new Set(list)) {
    if (isWildcard(entry)) patterns.push(new TopicPattern(entry));
    else topics.push(entry);
  }
  return { topics, patterns };
}

/**
 * What a subscription's list reads among `existing` topics: the topics it names outright (whether they exist or not),
 * then each existing topic one of its patterns matches, in the order of `existing`.
 */
export function expandPatterns(
  list: readonly string[],
  existing: Iterable<string>,
): { topics: string[]; named: Set<string>; patterns: TopicPattern[] } {
  const { topics, patterns } = splitPatterns(list);
  const named = new Set(topics);
  if (patterns.length > 0) {
    for (const topic of existing) {
      if (named.has(topic)) continue;
      const tokens = topic.split(TOKEN_SEPARATOR);
      if (patterns.some((p) => p.matchesTokens(tokens))) topics.push(topic);
    }
  }
  return { topics, named, patterns };
}

/** Whether `topic` is named in `topics` or matches one of `patterns`. */
export function anyMatch(topic: string, topics: ReadonlySet<string>, patterns: readonly TopicPattern[]): boolean {
  if (topics.has(topic)) return true;
  if (patterns.length === 0) return false;
  const tokens = topic.split(TOKEN_SEPARATOR);
  return patterns.some((p) => p.matchesTokens(tokens));
}
