import { asciiText, type CborWriter } from "../util/cbor-writer.ts";
import { isName } from "../util/name-bytes.ts";

/**
 * Hand-written CBOR for the messages sent once per published message — `publish`, `published` and `message` — and for
 * the leader's `append`, which carries every entry to every follower, written straight into the outgoing batch: the
 * bytes cbor-x gives the same object, without its intermediate buffer (a new one for each large append) and copy.
 * A message with anything unusual in it (a field this encoder does not write, a value out of the usual range) is left
 * to cbor-x: `encodeHot` then returns false and writes nothing.
 */

const KEY = {
  type: asciiText("type"),
  id: asciiText("id"),
  topic: asciiText("topic"),
  data: asciiText("data"),
  producer: asciiText("producer"),
  seq: asciiText("seq"),
  offset: asciiText("offset"),
  duplicate: asciiText("duplicate"),
  subscription: asciiText("subscription"),
  from: asciiText("from"),
  to: asciiText("to"),
  term: asciiText("term"),
  index: asciiText("index"),
  logTerm: asciiText("logTerm"),
  entries: asciiText("entries"),
  commit: asciiText("commit"),
  kind: asciiText("kind"),
};
const TYPE = {
  publish: asciiText("publish"),
  published: asciiText("published"),
  message: asciiText("message"),
  append: asciiText("append"),
};

type Fields = Record<string, unknown>;

const isWhole = (x: unknown): x is number => typeof x === "number" && Number.isSafeInteger(x) && x >= 0;

/** Whether `value` has exactly the keys allowed (in any order), the required ones among them. */
function hasOnly(value: Fields, required: number, allowed: readonly string[]): boolean {
  let n = 0;
  for (const key in value) {
    if (!allowed.includes(key)) return false;
    if (value[key] === undefined) return false;
    n++;
  }
  return n >= required;
}

const PUBLISH_KEYS = ["type", "id", "topic", "data", "producer", "seq"] as const;
const PUBLISHED_KEYS = ["type", "id", "topic", "offset", "duplicate"] as const;
const MESSAGE_KEYS = ["type", "subscription", "topic", "offset", "data"] as const;
const APPEND_KEYS = ["type", "from", "to", "term", "index", "logTerm", "entries", "commit"] as const;
const ENTRY_KEYS = ["index", "term", "kind", "data"] as const;

/** Writes `value` if it is a hot message in the usual form; false (nothing written) otherwise. */
export function encodeHot(w: CborWriter, value: unknown): boolean {
  if (typeof value !== "object" || value === null) return false;
  const m = value as Fields;
  switch (m.type) {
    case "publish":
      return publish(w, m);
    case "published":
      return published(w, m);
    case "message":
      return message(w, m);
    case "append":
      return append(w, m);
    default:
      return false;
  }
}

function publish(w: CborWriter, m: Fields): boolean {
  const { id, topic, data, producer, seq } = m;
  if (!isWhole(id) || typeof topic !== "string" || !isName(topic) || !(data instanceof Uint8Array)) return false;
  if (producer !== undefined && (typeof producer !== "string" || !isName(producer))) return false;
  if (seq !== undefined && !isWhole(seq)) return false;
  if (!hasOnly(m, 4, PUBLISH_KEYS)) return false;
  w.mapHeader(4 + (producer === undefined ? 0 : 1) + (seq === undefined ? 0 : 1));
  w.raw(KEY.type);
  w.raw(TYPE.publish);
  w.raw(KEY.id);
  w.whole(id);
  w.raw(KEY.topic);
  w.ascii(topic);
  w.raw(KEY.data);
  w.bytes(data);
  if (producer !== undefined) {
    w.raw(KEY.producer);
    w.ascii(producer);
  }
  if (seq !== undefined) {
    w.raw(KEY.seq);
    w.whole(seq);
  }
  return true;
}

function published(w: CborWriter, m: Fields): boolean {
  const { id, topic, offset, duplicate } = m;
  if (!isWhole(id) || !isWhole(offset) || (duplicate !== undefined && typeof duplicate !== "boolean")) return false;
  if (topic !== undefined && (typeof topic !== "string" || !isName(topic))) return false;
  if (!hasOnly(m, 3, PUBLISHED_KEYS)) return false;
  w.mapHeader(3 + (topic === undefined ? 0 : 1) + (duplicate === undefined ? 0 : 1));
  w.raw(KEY.type);
  w.raw(TYPE.published);
  w.raw(KEY.id);
  w.whole(id);
  if (topic !== undefined) {
    w.raw(KEY.topic);
    w.ascii(topic);
  }
  w.raw(KEY.offset);
  w.whole(offset);
  if (duplicate !== undefined) {
    w.raw(KEY.duplicate);
    w.simple(duplicate);
  }
  return true;
}

function message(w: CborWriter, m: Fields): boolean {
  const { subscription, topic, offset, data } = m;
  if (
    !isWhole(subscription) ||
    typeof topic !== "string" ||
    !isName(topic) ||
    !isWhole(offset) ||
    !(data instanceof Uint8Array)
  )
    return false;
  if (!hasOnly(m, 5, MESSAGE_KEYS)) return false;
  w.mapHeader(5);
  w.raw(KEY.type);
  w.raw(TYPE.message);
  w.raw(KEY.subscription);
  w.whole(subscription);
  w.raw(KEY.topic);
  w.ascii(topic);
  w.raw(KEY.offset);
  w.whole(offset);
  w.raw(KEY.data);
  w.bytes(data);
  return true;
}

function append(w: CborWriter, m: Fields): boolean {
  const { from, to, term, index, logTerm, entries, commit } = m;
  if (!isWhole(from) || !isWhole(to) || !isWhole(term) || !isWhole(index) || !isWhole(logTerm) || !isWhole(commit))
    return false;
  if (!Array.isArray(entries) || !hasOnly(m, 8, APPEND_KEYS)) return false;
  for (const e of entries as unknown[]) {
    if (typeof e !== "object" || e === null) return false;
    const f = e as Fields;
    if (
      !isWhole(f.index) ||
      !isWhole(f.term) ||
      !isWhole(f.kind) ||
      !(f.data instanceof Uint8Array) ||
      !hasOnly(f, 4, ENTRY_KEYS)
    )
      return false;
  }
  w.mapHeader(8);
  w.raw(KEY.type);
  w.raw(TYPE.append);
  w.raw(KEY.from);
  w.whole(from);
  w.raw(KEY.to);
  w.whole(to);
  w.raw(KEY.term);
  w.whole(term);
  w.raw(KEY.index);
  w.whole(index);
  w.raw(KEY.logTerm);
  w.whole(logTerm);
  w.raw(KEY.entries);
  w.head(4, entries.length);
  for (const e of entries as Fields[]) {
    w.mapHeader(4);
    w.raw(KEY.index);
    w.whole(e.index as number);
    w.raw(KEY.term);
    w.whole(e.term as number);
    w.raw(KEY.kind);
    w.whole(e.kind as number);
    w.raw(KEY.data);
    w.bytes(e.data as Uint8Array);
  }
  w.raw(KEY.commit);
  w.whole(commit);
  return true;
}
