import { Encoder } from "../util/cbor-x.ts";
import * as v from "valibot";
import { MqraftError } from "../util/errors.ts";
import { describeIssues } from "./command-codec.ts";
import { MAX_SUBSCRIPTION_TOPICS, RetentionSchema, type Retention } from "./commands.ts";
import { ProducerIdSchema, SubscriptionNameSchema, TopicSchema, WholeNumberSchema } from "../util/names.ts";
import { type ProducerWindow, producerFromColumns, SEQS_PER_PRODUCER } from "./producer-window.ts";
import type { DurableRecord } from "./subscriptions.ts";
import { type TopicIndex, topicFromColumns } from "./topic-index.ts";

/**
 * The state machine's snapshot: one CBOR map (layout in docs/state-machine.md). Typed-array
 * columns travel as byte strings in little-endian order (the order of every platform Bun runs
 * on), so a million-message index encodes and decodes as a few memory copies.
 */

export const SNAPSHOT_FORMAT = "mqraft-broker-state";
export const SNAPSHOT_VERSION = 1;

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

const Bytes = v.instance(Uint8Array);

const SnapshotSchema = v.object({
  format: v.literal(SNAPSHOT_FORMAT),
  version: v.literal(SNAPSHOT_VERSION),
  appliedIndex: WholeNumberSchema,
  time: WholeNumberSchema,
  retention: RetentionSchema,
  topics: v.array(
    v.object({ name: TopicSchema, firstOffset: WholeNumberSchema, logIndex: Bytes, slot: Bytes, size: Bytes, time: Bytes }),
  ),
  producers: v.array(v.object({ id: ProducerIdSchema, lastSeen: WholeNumberSchema, seq: Bytes, topicId: Bytes, offset: Bytes })),
  durables: v.array(
    v.object({
      name: SubscriptionNameSchema,
      topics: v.pipe(v.array(TopicSchema), v.minLength(1), v.maxLength(MAX_SUBSCRIPTION_TOPICS)),
      positions: v.array(WholeNumberSchema),
    }),
  ),
});

export interface SnapshotParts {
  appliedIndex: number;
  time: number;
  retention: Retention;
  /** In id order. */
  topics: Iterable<TopicIndex>;
  /** From least to most recently active. */
  producers: Iterable<ProducerWindow>;
  /** In creation order. */
  durables: Iterable<DurableRecord>;
}

export interface RestoredParts {
  appliedIndex: number;
  time: number;
  retention: Retention;
  topics: TopicIndex[];
  producers: ProducerWindow[];
  durables: DurableRecord[];
}

function bytesOf(column: Float64Array | Uint32Array, head: number, tail: number): Uint8Array {
  const width = column.BYTES_PER_ELEMENT;
  return new Uint8Array(column.buffer, column.byteOffset + head * width, (tail - head) * width);
}

export function encodeSnapshot(parts: SnapshotParts): Uint8Array {
  return cbor.encode({
    format: SNAPSHOT_FORMAT,
    version: SNAPSHOT_VERSION,
    appliedIndex: parts.appliedIndex,
    time: parts.time,
    retention: parts.retention,
    topics: Array.from(parts.topics, (t) => ({
      name: t.name,
      firstOffset: t.firstOffset,
      logIndex: bytesOf(t.logIndex, t.head, t.tail),
      slot: bytesOf(t.slot, t.head, t.tail),
      size: bytesOf(t.size, t.head, t.tail),
      time: bytesOf(t.time, t.head, t.tail),
    })),
    producers: Array.from(parts.producers, (p) => ({
      id: p.id,
      lastSeen: p.lastSeen,
      seq: bytesOf(p.seq, p.head, p.tail),
      topicId: bytesOf(p.topicId, p.head, p.tail),
      offset: bytesOf(p.offset, p.head, p.tail),
    })),
    durables: Array.from(parts.durables, (d) => ({ name: d.name, topics: d.topics, positions: d.positions })),
  });
}

function corrupt(message: string): MqraftError {
  return new MqraftError("CORRUPT", `invalid broker snapshot: ${message}`);
}

/** Copies a byte string into a new (aligned) column of `count` elements. */
function column<T extends Float64Array | Uint32Array>(make: (n: number) => T, bytes: Uint8Array, count: number, what: string): T {
  const out = make(count);
  if (bytes.byteLength !== count * out.BYTES_PER_ELEMENT) throw corrupt(`${what} has ${bytes.byteLength} bytes, expected ${count * out.BYTES_PER_ELEMENT}`);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

const f64 = (n: number) => new Float64Array(n);
const u32 = (n: number) => new Uint32Array(n);

function checkAscending(values: Float64Array, strictly: boolean, min: number, max: number, what: string): void {
  let previous = min;
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number;
    if (!Number.isSafeInteger(value) || value < previous || (strictly && i > 0 && value === previous) || value > max) {
      throw corrupt(`${what} is not an ascending list of whole numbers from ${min} to ${max}`);
    }
    previous = value;
  }
}

export function decodeSnapshot(bytes: Uint8Array): RestoredParts {
  let raw: unknown;
  try {
    raw = cbor.decode(bytes);
  } catch (e) {
    throw corrupt(`not CBOR: ${e instanceof Error ? e.message : String(e)}`);
  }
  const parsed = v.safeParse(SnapshotSchema, raw);
  if (!parsed.success) throw corrupt(describeIssues(parsed.issues));
  const s = parsed.output;

  const names = new Set<string>();
  const topics = s.topics.map((t, id) => {
    if (names.has(t.name)) throw corrupt(`topic "${t.name}" appears twice`);
    names.add(t.name);
    const count = Math.floor(t.logIndex.byteLength / 8);
    const where = `topic "${t.name}"`;
    const columns = {
      logIndex: column(f64, t.logIndex, count, `${where} logIndex`),
      slot: column(u32, t.slot, count, `${where} slot`),
      size: column(u32, t.size, count, `${where} size`),
      time: column(f64, t.time, count, `${where} time`),
    };
    checkAscending(columns.logIndex, false, 1, s.appliedIndex, `${where} logIndex`);
    checkAscending(columns.time, false, 0, s.time, `${where} time`);
    if (!Number.isSafeInteger(t.firstOffset + count)) throw corrupt(`${where} offsets overflow`);
    return topicFromColumns(t.name, id, t.firstOffset, columns);
  });

  const ids = new Set<string>();
  let lastSeen = 0;
  const producers = s.producers.map((p) => {
    if (ids.has(p.id)) throw corrupt(`producer "${p.id}" appears twice`);
    ids.add(p.id);
    if (p.lastSeen < lastSeen || p.lastSeen > s.time) throw corrupt(`producer "${p.id}" is out of activity order`);
    lastSeen = p.lastSeen;
    const count = Math.floor(p.seq.byteLength / 8);
    if (count > SEQS_PER_PRODUCER) throw corrupt(`producer "${p.id}" remembers ${count} seqs, more than ${SEQS_PER_PRODUCER}`);
    const where = `producer "${p.id}"`;
    const columns = {
      seq: column(f64, p.seq, count, `${where} seq`),
      topicId: column(u32, p.topicId, count, `${where} topicId`),
      offset: column(f64, p.offset, count, `${where} offset`),
    };
    checkAscending(columns.seq, true, 0, Number.MAX_SAFE_INTEGER, `${where} seq`);
    for (let i = 0; i < count; i++) {
      const topic = topics[columns.topicId[i] as number];
      const offset = columns.offset[i] as number;
      if (topic === undefined || !Number.isSafeInteger(offset) || offset < 0 || offset >= topic.nextOffset) {
        throw corrupt(`${where} refers to a message that was never stored`);
      }
    }
    return producerFromColumns(p.id, p.lastSeen, columns);
  });

  const byName = new Map(topics.map((t) => [t.name, t]));
  const durableNames = new Set<string>();
  const durables = s.durables.map((d) => {
    if (durableNames.has(d.name)) throw corrupt(`subscription "${d.name}" appears twice`);
    durableNames.add(d.name);
    if (new Set(d.topics).size !== d.topics.length || d.positions.length !== d.topics.length) {
      throw corrupt(`subscription "${d.name}" needs distinct topics and one position for each`);
    }
    d.topics.forEach((topic, i) => {
      const next = byName.get(topic)?.nextOffset ?? 0;
      if ((d.positions[i] as number) > next) throw corrupt(`subscription "${d.name}" is past the end of topic "${topic}"`);
    });
    return { name: d.name, topics: d.topics, positions: d.positions };
  });

  return { appliedIndex: s.appliedIndex, time: s.time, retention: s.retention, topics, producers, durables };
}
