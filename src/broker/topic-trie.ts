import { ONE_TOKEN, REST_TOKENS, TOKEN_SEPARATOR } from "../util/topic-name.ts";

/**
 * Topic patterns in a token trie, each with the values (subscriptions) that hold it: which patterns a topic matches
 * costs one walk down the topic's tokens, trying at each level the literal token, `*` and `>`, whatever the number of
 * patterns, rather than a test of every pattern. Patterns are added when a subscription starts and matched when a
 * topic is created, so that publishing to an existing topic never matches anything.
 */

interface TrieNode<T> {
  literal: Map<string, TrieNode<T>> | undefined;
  /** The `*` child. */
  one: TrieNode<T> | undefined;
  /** Values of patterns ending with `>` here: they match any topic with at least one more token. */
  rest: Set<T> | undefined;
  /** Values of patterns ending exactly here. */
  here: Set<T> | undefined;
}

function node<T>(): TrieNode<T> {
  return { literal: undefined, one: undefined, rest: undefined, here: undefined };
}

export class PatternTrie<T> {
  private readonly root: TrieNode<T> = node();
  private count = 0;

  /** (pattern, value) pairs held. */
  get size(): number {
    return this.count;
  }

  /** Adds `value` under `pattern`; adding the same pair twice keeps one. */
  add(pattern: string, value: T): void {
    const tokens = pattern.split(TOKEN_SEPARATOR);
    let at = this.root;
    for (let i = 0; i < tokens.length; i++) {
      const token = tokens[i] as string;
      if (token === REST_TOKENS && i === tokens.length - 1) {
        at.rest ??= new Set();
        this.addTo(at.rest, value);
        return;
      }
      if (token !== ONE_TOKEN) at = child(at, token);
      else {
        at.one ??= node();
        at = at.one;
      }
    }
    at.here ??= new Set();
    this.addTo(at.here, value);
  }

  /** Removes `value` from under `pattern` (nothing if it is not there); nodes left empty are dropped. */
  remove(pattern: string, value: T): void {
    const tokens = pattern.split(TOKEN_SEPARATOR);
    const path: TrieNode<T>[] = [this.root];
    let at: TrieNode<T> | undefined = this.root;
    const last = tokens.length - 1;
    for (let i = 0; i < tokens.length && at !== undefined; i++) {
      const token = tokens[i] as string;
      if (token === REST_TOKENS && i === last) {
        if (at.rest?.delete(value)) this.count--;
        if (at.rest?.size === 0) at.rest = undefined;
        return this.prune(path, tokens);
      }
      at = token === ONE_TOKEN ? at.one : at.literal?.get(token);
      if (at !== undefined) path.push(at);
    }
    if (at === undefined) return;
    if (at.here?.delete(value)) this.count--;
    if (at.here?.size === 0) at.here = undefined;
    this.prune(path, tokens);
  }

  /** Calls `found` once for each value of a pattern that `topic` matches (a value under two such patterns: twice). */
  match(topic: string, found: (value: T) => void): void {
    walk(this.root, topic.split(TOKEN_SEPARATOR), 0, found);
  }

  /** The distinct values of the patterns `topic` matches, in no promised order beyond being the same each time. */
  matching(topic: string): Set<T> {
    const out = new Set<T>();
    this.match(topic, (value) => out.add(value));
    return out;
  }

  private addTo(set: Set<T>, value: T): void {
    if (set.has(value)) return;
    set.add(value);
    this.count++;
  }

  /** Drops the empty nodes at the end of `path` (the nodes of `tokens` from the root). */
  private prune(path: TrieNode<T>[], tokens: readonly string[]): void {
    for (let i = path.length - 1; i > 0; i--) {
      const n = path[i] as TrieNode<T>;
      if (n.here !== undefined || n.rest !== undefined || n.one !== undefined || (n.literal?.size ?? 0) > 0) return;
      const parent = path[i - 1] as TrieNode<T>;
      const token = tokens[i - 1] as string;
      if (token === ONE_TOKEN) parent.one = undefined;
      else parent.literal?.delete(token);
    }
  }
}

function child<T>(at: TrieNode<T>, token: string): TrieNode<T> {
  at.literal ??= new Map();
  let next = at.literal.get(token);
  if (next === undefined) {
    next = node();
    at.literal.set(token, next);
  }
  return next;
}

function walk<T>(at: TrieNode<T>, tokens: readonly string[], i: number, found: (value: T) => void): void {
  if (i === tokens.length) {
    if (at.here !== undefined) for (const v of at.here) found(v);
    return;
  }
  if (at.rest !== undefined) for (const v of at.rest) found(v);
  const literal = at.literal?.get(tokens[i] as string);
  if (literal !== undefined) walk(literal, tokens, i + 1, found);
  if (at.one !== undefined) walk(at.one, tokens, i + 1, found);
}
