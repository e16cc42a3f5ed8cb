import * as v from "valibot";
import { utf8Length } from "./topic-name.ts";

/**
 * Message headers (docs/messaging.md): [key, value] pairs stored and replicated with the message, in the order given;
 * a key may repeat. Pairs rather than a map: a CBOR map decodes to a plain object, where `__proto__` is special.
 *
 * Keys are 1 to 64 characters of lowercase printable ASCII other than `:` (the client library lowercases them, as
 * fetch's Headers does), so that a key prints and compares one way. Values are text without control characters.
 * At most 32 pairs and 4 KiB of keys and values together (UTF-8): headers are metadata, and every replica keeps
 * them in its log.
 */

export const MAX_HEADERS = 32;
export const MAX_HEADER_KEY = 64;
export const MAX_HEADERS_BYTES = 4096;

export type HeaderPairs = [key: string, value: string][];

const KEY = /^[!-9;-@[-~]{1,64}$/;
const CONTROL = /\p{Cc}/u;

/** Why `headers` is not a valid list of header pairs, or undefined when it is one. */
export function headersProblem(headers: unknown): string | undefined {
  if (!Array.isArray(headers)) return "headers are a list of [key, value] pairs";
  if (headers.length > MAX_HEADERS) return `at most ${MAX_HEADERS} headers, not ${headers.length}`;
  let bytes = 0;
  for (const pair of headers) {
    if (!Array.isArray(pair) || pair.length !== 2 || typeof pair[0] !== "string" || typeof pair[1] !== "string")
      return "each header is a [key, value] pair of strings";
    const [key, value] = pair as [string, string];
    if (!KEY.test(key))
      return `header key ${JSON.stringify(key)}: 1 to ${MAX_HEADER_KEY} characters of lowercase printable ASCII other than ":"`;
    const bad = CONTROL.exec(value);
    if (bad !== null) return `header ${key}: the value holds a control character (U+${hex(bad[0])})`;
    if (value.length > 0 && value.isWellFormed?.() === false) return `header ${key}: the value is not valid Unicode`;
    bytes += key.length + utf8Length(value);
  }
  if (bytes > MAX_HEADERS_BYTES)
    return `headers hold at most ${MAX_HEADERS_BYTES} bytes of keys and values, not ${bytes}`;
  return undefined;
}

export function isHeaders(headers: unknown): headers is HeaderPairs {
  return headersProblem(headers) === undefined;
}

function hex(c: string): string {
  return (c.codePointAt(0) ?? 0).toString(16).toUpperCase().padStart(4, "0");
}

export const HeadersSchema = v.custom<HeaderPairs>(
  isHeaders,
  (issue) => `expected message headers: ${headersProblem(issue.input)}`,
);

/** What a message's headers may be given as: a Headers-like map, a record, or pairs. */
export type HeadersInit = MessageHeaders | Record<string, string> | Iterable<readonly [string, string]>;

/**
 * A message's headers, read like fetch's Headers: keys are case-insensitive (held in lowercase), `get` joins a
 * repeated key's values with ", ", iteration gives every pair in order.
 */
export class MessageHeaders implements Iterable<[string, string]> {
  private readonly list: HeaderPairs = [];
  /** The headers of a received message: changing them is refused (they are what was stored). */
  private readOnly: boolean;

  constructor(init?: HeadersInit, readOnly = false) {
    this.readOnly = false;
    if (init !== undefined) {
      const pairs = init instanceof MessageHeaders || isIterable(init) ? init : Object.entries(init);
      for (const [key, value] of pairs) this.append(key, value);
    }
    this.readOnly = readOnly;
  }

  /** The headers as received: pairs already valid and in lowercase; read-only. */
  static of(pairs: HeaderPairs | undefined): MessageHeaders {
    if (pairs === undefined || pairs.length === 0) return NO_HEADERS;
    const headers = new MessageHeaders(undefined, true);
    headers.list.push(...pairs);
    return headers;
  }

  append(key: string, value: string): void {
    this.writable();
    this.list.push([key.toLowerCase(), value]);
  }

  set(key: string, value: string): void {
    this.delete(key);
    this.append(key, value);
  }

  delete(key: string): void {
    this.writable();
    const k = key.toLowerCase();
    for (let i = this.list.length - 1; i >= 0; i--) if (this.list[i]?.[0] === k) this.list.splice(i, 1);
  }

  get(key: string): string | null {
    const values = this.getAll(key);
    return values.length === 0 ? null : values.join(", ");
  }

  getAll(key: string): string[] {
    const k = key.toLowerCase();
    return this.list.filter(([name]) => name === k).map(([, value]) => value);
  }

  has(key: string): boolean {
    const k = key.toLowerCase();
    return this.list.some(([name]) => name === k);
  }

  get size(): number {
    return this.list.length;
  }

  forEach(fn: (value: string, key: string, headers: MessageHeaders) => void): void {
    for (const [key, value] of this.list) fn(value, key, this);
  }

  keys(): IterableIterator<string> {
    return this.list.map(([key]) => key)[Symbol.iterator]();
  }

  values(): IterableIterator<string> {
    return this.list.map(([, value]) => value)[Symbol.iterator]();
  }

  entries(): IterableIterator<[string, string]> {
    return this.pairs()[Symbol.iterator]();
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  private writable(): void {
    if (this.readOnly)
      throw new TypeError("the headers of a received message are read-only; copy them: new MessageHeaders(h)");
  }

  /** A copy of the pairs, in order. */
  pairs(): HeaderPairs {
    return this.list.map(([key, value]) => [key, value]);
  }

  /** The headers as one object: a repeated key's values joined with ", " (for `--json`). */
  toJSON(): Record<string, string> {
    const out: Record<string, string> = Object.create(null);
    for (const [key] of this.list) out[key] ??= this.get(key) as string;
    return { ...out };
  }
}

const NO_HEADERS = new MessageHeaders(undefined, true);

function isIterable(x: unknown): x is Iterable<readonly [string, string]> {
  return typeof x === "object" && x !== null && Symbol.iterator in x;
}
