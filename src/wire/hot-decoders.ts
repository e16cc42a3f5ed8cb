import { readName } from "../util/name-bytes.ts";
import { DeliverySchema, PublishedSchema, PublishSchema } from "./messages/client.ts";

/**
 * Hand-written reading of the messages received once per published message — `publish`, `published` and
 * `message` — checked field by field against the rules of their schemas while they are read, names through the
 * name cache instead of a new string each. Only the plain form is taken: a definite-length map with text keys, each
 * field known to the schema, present once and valid. Anything else (an unknown field, a bad value, another message)
 * gives undefined and is decoded and validated the generic way, which also words the error.
 */

/** The schema each hot reader implements: a parser takes the reader's output as valid only for that same schema. */
export const HOT_SCHEMAS: Readonly<Record<string, unknown>> = {
  publish: PublishSchema,
  published: PublishedSchema,
  message: DeliverySchema,
};

type Field = "type" | "id" | "topic" | "data" | "producer" | "seq" | "offset" | "duplicate" | "subscription";
type Kind = "whole" | "name" | "bytes" | "boolean";

const FIELDS: Record<string, { required: readonly Field[]; optional: readonly Field[] }> = {
  publish: { required: ["id", "topic", "data"], optional: ["producer", "seq"] },
  published: { required: ["id", "topic", "offset"], optional: ["duplicate"] },
  message: { required: ["subscription", "topic", "offset", "data"], optional: [] },
};
const KIND: Record<Field, Kind | "type"> = {
  type: "type",
  id: "whole",
  topic: "name",
  data: "bytes",
  producer: "name",
  seq: "whole",
  offset: "whole",
  duplicate: "boolean",
  subscription: "whole",
};
/** Keys and message types by their bytes, so that reading one builds no string. */
const KEYS = Object.keys(KIND).map((k) => ({ text: k, bytes: ascii(k) }));
const TYPE_NAMES = Object.keys(FIELDS).map((k) => ({ text: k, bytes: ascii(k) }));

function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

const EMPTY = new Uint8Array(0);
let src: Uint8Array = EMPTY;
let at = 0;
let end = 0;

/**
 * The message in `bytes` (one CBOR item) if it is a hot message in the plain form, valid; else undefined. Its
 * payload is a copy, so that it keeps neither the receive chunk alive nor a view into it; with `publishViews`, a
 * publish's payload is a view into `bytes` instead (for a receiver that copies it into its log at once).
 */
export function readHot(bytes: Uint8Array, publishViews = false): Record<string, unknown> | undefined {
  src = bytes;
  at = 0;
  end = bytes.length;
  const message = readMessage();
  // the frame is not kept alive by this module
  src = EMPTY;
  if (message !== undefined && message.data instanceof Uint8Array && !(publishViews && message.type === "publish")) {
    // a plain Uint8Array, also when bytes is a Buffer (whose slice is a view)
    const copy = new Uint8Array(message.data.length);
    copy.set(message.data);
    message.data = copy;
  }
  return message;
}

function readMessage(): Record<string, unknown> | undefined {
  const count = mapCount();
  if (count < 2 || count > 6) return undefined;
  const out: Record<string, unknown> = {};
  for (let i = 0; i < count; i++) {
    const key = oneOf(KEYS);
    if (key === undefined || key in out) return undefined;
    const kind = KIND[key as Field];
    let value: unknown;
    if (kind === "type") value = oneOf(TYPE_NAMES);
    else if (kind === "whole") value = whole();
    else if (kind === "name") value = name();
    else if (kind === "bytes") value = byteString();
    else value = boolean();
    if (value === undefined) return undefined;
    out[key] = value;
  }
  if (at !== end) return undefined;
  const fields = FIELDS[out.type as string];
  if (fields === undefined) return undefined;
  let known = 1;
  for (const f of fields.required) {
    if (!(f in out)) return undefined;
    known++;
  }
  for (const f of fields.optional) if (f in out) known++;
  return known === count ? out : undefined;
}

/** The argument of an item of `major` type, up to 2^53; -1 if the next item is not one. */
function head(major: number): number {
  if (at >= end) return -1;
  const initial = src[at]!;
  if (initial >> 5 !== major) return -1;
  const info = initial & 0x1f;
  const size = info < 24 ? 0 : info === 24 ? 1 : info === 25 ? 2 : info === 26 ? 4 : info === 27 ? 8 : -1;
  if (size < 0 || at + 1 + size > end) return -1;
  let n = info < 24 ? info : 0;
  for (let i = 1; i <= size; i++) n = n * 256 + src[at + i]!;
  if (n > Number.MAX_SAFE_INTEGER) return -1;
  at += 1 + size;
  return n;
}

function mapCount(): number {
  return head(5);
}

/** The text string next, if it is one of `known`; undefined otherwise. */
function oneOf(known: readonly { text: string; bytes: Uint8Array }[]): string | undefined {
  const length = head(3);
  if (length < 0 || length > end - at) return undefined;
  for (const k of known) {
    if (k.bytes.length !== length) continue;
    let same = true;
    for (let i = 0; i < length; i++) {
      if (k.bytes[i] !== src[at + i]) {
        same = false;
        break;
      }
    }
    if (same) {
      at += length;
      return k.text;
    }
  }
  return undefined;
}

function name(): string | undefined {
  const length = head(3);
  if (length < 0 || length > end - at) return undefined;
  const n = readName(src, at, at + length);
  at += length;
  return n;
}

/** A whole number a double holds exactly, as an unsigned integer or a double; undefined otherwise. */
function whole(): number | undefined {
  if (src[at] === 0xfb) {
    if (at + 9 > end) return undefined;
    const n = new DataView(src.buffer, src.byteOffset + at + 1, 8).getFloat64(0);
    if (!Number.isSafeInteger(n) || n < 0) return undefined;
    at += 9;
    return n;
  }
  const n = head(0);
  return n < 0 ? undefined : n;
}

/** A view into the frame; readHot copies it unless the caller takes views. */
function byteString(): Uint8Array | undefined {
  const length = head(2);
  if (length < 0 || length > end - at) return undefined;
  const data = src.subarray(at, at + length);
  at += length;
  return data;
}

function boolean(): boolean | undefined {
  const b = src[at];
  if (b !== 0xf4 && b !== 0xf5) return undefined;
  at++;
  return b === 0xf5;
}
