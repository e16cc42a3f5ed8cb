import * as v from "valibot";
import { Encoder } from "../util/cbor-x.ts";
import { MqraftError } from "../util/errors.ts";
import { ProducerIdSchema, SubscriptionNameSchema, TopicSchema, WholeNumberSchema } from "../util/names.ts";
import { TopicPatternSchema } from "../util/topic-name.ts";
import { PermissionsSchema, TokenHashSchema, UserNameSchema } from "../util/user-names.ts";
import { describeIssues } from "./command-codec.ts";
import { MAX_SUBSCRIPTION_TOPICS, type Retention, RetentionSchema } from "./commands.ts";
import type { Group } from "./groups/group.ts";
import { groupSnapshot, restoreGroup } from "./groups/group-snapshot.ts";
import { type ProducerWindow, producerFromColumns, SEQS_PER_PRODUCER } from "./producer-window.ts";
import type { DurableRecord } from "./subscriptions.ts";
import { type TopicIndex, topicFromColumns } from "./topic-index.ts";
import type { UserRecord } from "./users.ts";

/**
 * The state machine's snapshot (layout in docs/state-machine.md). Version 3, written now: a magic
 * number, the length of a CBOR header (names, counts, retention, durable subscriptions), the
 * header, then every typed-array column's bytes as they are in memory (little-endian on every
 * platform Bun runs on). Encoding copies no column: the parts are views that topic-index.ts and
 * producer-window.ts keep intact while they are held, so a snapshot of a million messages costs
 * the broker no pause to serialise. Version 3 adds each producer's epoch and next seq to version 2,
 * which is still read (its producers never registered), as is version 1, one CBOR map with the
 * columns as byte strings.
 */

export const SNAPSHOT_FORMAT = "mqraft-broker-state";
const MAGIC = 0x5342514d; // "MQBS" read as a little-endian u32
const PREFIX_SIZE = 8; // magic u32 | header length u32

const cbor = new Encoder({ useRecords: false, mapsAsObjects: true, tagUint8Array: false });

const Bytes = v.instance(Uint8Array<ArrayBufferLike>);
const DurableSchema = v.pipe(
  v.object({
    name: SubscriptionNameSchema,
    /** With `asked`, as many as topics match its patterns (none yet, or more than MAX_SUBSCRIPTION_TOPICS). */
    topics: v.array(TopicSchema),
    positions: v.array(WholeNumberSchema),
    holder: v.optional(SubscriptionNameSchema),
    asked: v.optional(v.pipe(v.array(TopicPatternSchema), v.minLength(1), v.maxLength(MAX_SUBSCRIPTION_TOPICS))),
  }),
  v.check(
    (d) => d.asked !== undefined || (d.topics.length >= 1 && d.topics.length <= MAX_SUBSCRIPTION_TOPICS),
    `a subscription without patterns reads 1 to ${MAX_SUBSCRIPTION_TOPICS} topics`,
  ),
);
const UserSchema = v.object({
  name: UserNameSchema,
  hash: TokenHashSchema,
  ...PermissionsSchema.entries,
  created: WholeNumberSchema,
  rotated: WholeNumberSchema,
});
/** [offset, expiresAt] of the retained messages that have a TTL (topic-ttl.ts); absent when none has. */
const ExpirySchema = v.array(v.strictTuple([WholeNumberSchema, WholeNumberSchema]));

const common = {
  format: v.literal(SNAPSHOT_FORMAT),
  appliedIndex: WholeNumberSchema,
  time: WholeNumberSchema,
  retention: RetentionSchema,
};

const SnapshotV1Schema = v.object({
  ...common,
  version: v.literal(1),
  topics: v.array(
    v.object({
      name: TopicSchema,
      firstOffset: WholeNumberSchema,
      logIndex: Bytes,
      slot: Bytes,
      size: Bytes,
      time: Bytes,
      expiry: v.optional(ExpirySchema),
    }),
  ),
  producers: v.array(
    v.object({ id: ProducerIdSchema, lastSeen: WholeNumberSchema, seq: Bytes, topicId: Bytes, offset: Bytes }),
  ),
  durables: v.array(DurableSchema),
});
/** Any version once read: the header's fields, with each topic's and producer's columns as bytes. */
type Parsed = Omit<v.InferOutput<typeof SnapshotV1Schema>, "version" | "producers"> & {
  retentionSet?: boolean;
  groups?: unknown[];
  users?: UserRecord[];
  producers: (v.InferOutput<typeof SnapshotV1Schema>["producers"][number] & {
    epoch?: number;
    nextSeq?: number;
    session?: string;
    replaced?: string;
  })[];
};

const HeaderTopicSchema = v.object({
  name: TopicSchema,
  firstOffset: WholeNumberSchema,
  count: WholeNumberSchema,
  expiry: v.optional(ExpirySchema),
});
const headerProducer = { id: ProducerIdSchema, lastSeen: WholeNumberSchema, count: WholeNumberSchema };
/** Versions 2 and 3's header: the columns follow it, each topic's then each producer's, in the order listed here. */
const HeaderSchema = v.variant("version", [
  v.object({
    ...common,
    version: v.literal(2),
    topics: v.array(HeaderTopicSchema),
    producers: v.array(v.object(headerProducer)),
    durables: v.array(DurableSchema),
  }),
  v.object({
    ...common,
    version: v.literal(3),
    /** Whether a config command set the retention (absent: as for version 2). */
    retentionSet: v.optional(v.boolean()),
    topics: v.array(HeaderTopicSchema),
    /** epoch 0: never registered (nextSeq unused); session: of the register that started the epoch, if any. */
    producers: v.array(
      v.object({
        ...headerProducer,
        epoch: WholeNumberSchema,
        nextSeq: WholeNumberSchema,
        session: v.optional(ProducerIdSchema),
        /** The session of the epoch before (a register with it is refused). */
        replaced: v.optional(ProducerIdSchema),
      }),
    ),
    durables: v.array(DurableSchema),
    /** Consumer groups (groups/group-snapshot.ts), absent when there are none. */
    groups: v.optional(v.array(v.unknown())),
    /** The users (users.ts), in the order they were added; absent: none (as before users existed). */
    users: v.optional(v.array(UserSchema)),
  }),
]);
export type SnapshotHeader = v.InferOutput<typeof HeaderSchema>;

export interface SnapshotParts {
  appliedIndex: number;
  time: number;
  retention: Retention;
  retentionSet: boolean;
  /** In id order. */
  topics: Iterable<TopicIndex>;
  /** From least to most recently active. */
  producers: Iterable<ProducerWindow>;
  /** In creation order. */
  durables: Iterable<DurableRecord>;
  /** In creation order. */
  groups?: Iterable<Group>;
  /** In the order they were added. */
  users: Iterable<UserRecord>;
}

export interface RestoredParts {
  appliedIndex: number;
  time: number;
  retention: Retention;
  retentionSet: boolean;
  topics: TopicIndex[];
  producers: ProducerWindow[];
  durables: DurableRecord[];
  groups: Group[];
  users: UserRecord[];
}

/** The snapshot as the pieces to write one after the other: the prefix, the header, then views of the columns. */
export function encodeSnapshot(parts: SnapshotParts): Uint8Array[] {
  const columns: Uint8Array[] = [];
  const topics = Array.from(parts.topics, (t) => {
    const c = t.snapshotColumns();
    columns.push(c.logIndex, c.slot, c.size, c.time);
    const expiry = t.expiry === undefined ? {} : { expiry: [...t.expiry] };
    return { name: t.name, firstOffset: t.firstOffset, count: t.count, ...expiry };
  });
  const producers = Array.from(parts.producers, (p) => {
    const c = p.snapshotColumns();
    columns.push(c.seq, c.topicId, c.offset);
    const session = p.session === undefined ? {} : { session: p.session };
    const replaced = p.replacedSession === undefined ? {} : { replaced: p.replacedSession };
    return {
      id: p.id,
      lastSeen: p.lastSeen,
      count: p.count,
      epoch: p.epoch,
      nextSeq: p.nextSeq,
      ...session,
      ...replaced,
    };
  });
  const durables = Array.from(parts.durables, (d) => ({
    name: d.name,
    topics: d.topics,
    positions: d.positions,
    ...(d.holder === undefined ? {} : { holder: d.holder }),
    ...(d.asked === undefined ? {} : { asked: d.asked }),
  }));
  const groups = Array.from(parts.groups ?? [], groupSnapshot);
  const users = Array.from(parts.users, (u) => ({ ...u }));
  return joinSnapshot(
    {
      format: SNAPSHOT_FORMAT,
      version: 3,
      appliedIndex: parts.appliedIndex,
      time: parts.time,
      retention: parts.retention,
      retentionSet: parts.retentionSet,
      topics,
      producers,
      durables,
      ...(groups.length === 0 ? {} : { groups }),
      ...(users.length === 0 ? {} : { users }),
    },
    columns,
  );
}

/** A version 2 or 3 snapshot of this header and these column bytes (exposed for tests that build damaged ones). */
export function joinSnapshot(header: SnapshotHeader, columns: Uint8Array[]): Uint8Array[] {
  // Copied: the encoder reuses its buffer, and a snapshot is held long after.
  const head = Uint8Array.from(cbor.encode(header));
  const prefix = new Uint8Array(PREFIX_SIZE);
  const view = new DataView(prefix.buffer);
  view.setUint32(0, MAGIC, true);
  view.setUint32(4, head.byteLength, true);
  return [prefix, head, ...columns];
}

/** The header and the column bytes of a version 2 or 3 snapshot, undefined when `bytes` is not one. */
export function splitSnapshot(bytes: Uint8Array): { header: unknown; body: Uint8Array } | undefined {
  if (bytes.byteLength < PREFIX_SIZE) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (view.getUint32(0, true) !== MAGIC) return undefined;
  const end = PREFIX_SIZE + view.getUint32(4, true);
  if (end > bytes.byteLength) throw corrupt("its header runs past the end");
  return { header: decodeCbor(bytes.subarray(PREFIX_SIZE, end)), body: bytes.subarray(end) };
}

function corrupt(message: string): MqraftError {
  return new MqraftError("CORRUPT", `invalid broker snapshot: ${message}`);
}

/** Copies a byte string into a new (aligned) column of `count` elements. */
function column<T extends Float64Array | Uint32Array>(
  make: (n: number) => T,
  bytes: Uint8Array,
  count: number,
  what: string,
): T {
  const out = make(count);
  if (bytes.byteLength !== count * out.BYTES_PER_ELEMENT)
    throw corrupt(`${what} has ${bytes.byteLength} bytes, expected ${count * out.BYTES_PER_ELEMENT}`);
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

function decodeCbor(bytes: Uint8Array): unknown {
  try {
    return cbor.decode(bytes);
  } catch (e) {
    throw corrupt(`not CBOR: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function validated<S extends v.GenericSchema>(schema: S, raw: unknown): v.InferOutput<S> {
  const parsed = v.safeParse(schema, raw);
  if (!parsed.success) throw corrupt(describeIssues(parsed.issues));
  return parsed.output;
}

/** Versions 2 and 3 in the shape version 1 is read in: the header with each column cut from the body by its count. */
function readColumns(header: unknown, body: Uint8Array): Parsed {
  const h = validated(HeaderSchema, header);
  let at = 0;
  const take = (count: number, width: number, what: string): Uint8Array => {
    const length = count * width;
    if (at + length > body.byteLength) throw corrupt(`${what} runs past the end`);
    at += length;
    return body.subarray(at - length, at);
  };
  const topics = h.topics.map((t) => ({
    name: t.name,
    firstOffset: t.firstOffset,
    logIndex: take(t.count, 8, `topic "${t.name}"`),
    slot: take(t.count, 4, `topic "${t.name}"`),
    size: take(t.count, 4, `topic "${t.name}"`),
    time: take(t.count, 8, `topic "${t.name}"`),
    ...(t.expiry === undefined ? {} : { expiry: t.expiry }),
  }));
  const producers = h.producers.map((p) => ({
    id: p.id,
    lastSeen: p.lastSeen,
    seq: take(p.count, 8, `producer "${p.id}"`),
    topicId: take(p.count, 4, `producer "${p.id}"`),
    offset: take(p.count, 8, `producer "${p.id}"`),
    ...("epoch" in p ? { epoch: p.epoch, nextSeq: p.nextSeq } : {}),
    ...("session" in p && p.session !== undefined ? { session: p.session } : {}),
    ...("replaced" in p && p.replaced !== undefined ? { replaced: p.replaced } : {}),
  }));
  if (at !== body.byteLength) throw corrupt(`${body.byteLength - at} bytes after the last column`);
  return {
    format: h.format,
    appliedIndex: h.appliedIndex,
    time: h.time,
    retention: h.retention,
    ...("retentionSet" in h && h.retentionSet !== undefined ? { retentionSet: h.retentionSet } : {}),
    durables: h.durables,
    ...("groups" in h && h.groups !== undefined ? { groups: h.groups } : {}),
    ...("users" in h && h.users !== undefined ? { users: h.users } : {}),
    topics,
    producers,
  };
}

export function decodeSnapshot(bytes: Uint8Array): RestoredParts {
  const v2 = splitSnapshot(bytes);
  const s: Parsed = v2 === undefined ? validated(SnapshotV1Schema, decodeCbor(bytes)) : readColumns(v2.header, v2.body);

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
    const topic = topicFromColumns(t.name, id, t.firstOffset, columns);
    for (const [offset, expiresAt] of t.expiry ?? []) {
      if (offset < t.firstOffset || offset >= t.firstOffset + count)
        throw corrupt(`${where} expiry of offset ${offset}`);
      topic.setExpiry(offset, expiresAt);
    }
    return topic;
  });

  const ids = new Set<string>();
  let lastSeen = 0;
  const producers = s.producers.map((p) => {
    if (ids.has(p.id)) throw corrupt(`producer "${p.id}" appears twice`);
    ids.add(p.id);
    if (p.lastSeen < lastSeen || p.lastSeen > s.time) throw corrupt(`producer "${p.id}" is out of activity order`);
    lastSeen = p.lastSeen;
    const count = Math.floor(p.seq.byteLength / 8);
    if (count > SEQS_PER_PRODUCER)
      throw corrupt(`producer "${p.id}" remembers ${count} seqs, more than ${SEQS_PER_PRODUCER}`);
    const where = `producer "${p.id}"`;
    const columns = {
      seq: column(f64, p.seq, count, `${where} seq`),
      topicId: column(u32, p.topicId, count, `${where} topicId`),
      offset: column(f64, p.offset, count, `${where} offset`),
    };
    const epoch = p.epoch ?? 0;
    const nextSeq = p.nextSeq ?? 0;
    checkAscending(columns.seq, true, 0, epoch > 0 ? nextSeq - 1 : Number.MAX_SAFE_INTEGER, `${where} seq`);
    if (epoch > s.appliedIndex) throw corrupt(`${where} has epoch ${epoch}, after the snapshot's index`);
    for (let i = 0; i < count; i++) {
      const topic = topics[columns.topicId[i] as number];
      const offset = columns.offset[i] as number;
      if (topic === undefined || !Number.isSafeInteger(offset) || offset < 0 || offset >= topic.nextOffset) {
        throw corrupt(`${where} refers to a message that was never stored`);
      }
    }
    if (p.session !== undefined && epoch === 0) throw corrupt(`${where} has a session but no epoch`);
    return producerFromColumns(p.id, p.lastSeen, columns, epoch, nextSeq, p.session, p.replaced);
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
      if ((d.positions[i] as number) > next)
        throw corrupt(`subscription "${d.name}" is past the end of topic "${topic}"`);
    });
    return {
      name: d.name,
      topics: d.topics,
      positions: d.positions,
      ...(d.holder === undefined ? {} : { holder: d.holder }),
      ...(d.asked === undefined ? {} : { asked: d.asked }),
    };
  });

  const userNames = new Set<string>();
  const users = (s.users ?? []).map((u) => {
    if (userNames.has(u.name)) throw corrupt(`user "${u.name}" appears twice`);
    userNames.add(u.name);
    return { ...u };
  });

  // before version 3 only a leader's flags ever set retention: a policy with a limit was set, an empty one never
  const retentionSet = s.retentionSet ?? Object.values(s.retention).some((limit) => limit !== undefined);
  return {
    appliedIndex: s.appliedIndex,
    time: s.time,
    retention: s.retention,
    retentionSet,
    topics,
    producers,
    durables,
    groups: restoreGroups(s.groups ?? [], byName),
    users,
  };
}

function restoreGroups(raw: unknown[], topics: Map<string, TopicIndex>): Group[] {
  const names = new Set<string>();
  return raw.map((r) => {
    const group = restoreGroup(r);
    if (names.has(group.name)) throw corrupt(`group "${group.name}" appears twice`);
    names.add(group.name);
    if (group.cursor > (topics.get(group.topic)?.nextOffset ?? 0))
      throw corrupt(`group "${group.name}" is past the end of topic "${group.topic}"`);
    return group;
  });
}
