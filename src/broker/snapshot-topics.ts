import * as v from "valibot";
import { TopicSchema, WholeNumberSchema } from "../util/names.ts";
import { type ColumnReader, checkAscending, column, corrupt, f64, u32, uniqueNames } from "./snapshot-format.ts";
import { type TopicIndex, topicFromColumns } from "./topic-index.ts";

/** The topics' section of a snapshot: a header entry per topic, then its four columns (docs/state-machine.md). */

const Bytes = v.instance(Uint8Array<ArrayBufferLike>);
/** [offset, expiresAt] of the retained messages that have a TTL (topic-ttl.ts); absent when none has. */
const ExpirySchema = v.array(v.strictTuple([WholeNumberSchema, WholeNumberSchema]));

/** A topic as version 1 holds it, and as versions 2 and 3 are read into: the columns as bytes. */
export const TopicEntrySchema = v.object({
  name: TopicSchema,
  firstOffset: WholeNumberSchema,
  logIndex: Bytes,
  slot: Bytes,
  size: Bytes,
  time: Bytes,
  expiry: v.optional(ExpirySchema),
});
type TopicEntry = v.InferOutput<typeof TopicEntrySchema>;

/** A topic in the header of versions 2 and 3: its `count` retained messages' columns follow the header. */
export const HeaderTopicSchema = v.object({
  name: TopicSchema,
  firstOffset: WholeNumberSchema,
  count: WholeNumberSchema,
  expiry: v.optional(ExpirySchema),
});
type HeaderTopic = v.InferOutput<typeof HeaderTopicSchema>;

/** The topic's header entry; its columns (views, not copies) go to `columns`. */
export function encodeTopic(t: TopicIndex, columns: Uint8Array[]): HeaderTopic {
  const c = t.snapshotColumns();
  columns.push(c.logIndex, c.slot, c.size, c.time);
  const expiry = t.expiry === undefined ? {} : { expiry: [...t.expiry] };
  return { name: t.name, firstOffset: t.firstOffset, count: t.count, ...expiry };
}

export function readTopic(t: HeaderTopic, take: ColumnReader): TopicEntry {
  return {
    name: t.name,
    firstOffset: t.firstOffset,
    logIndex: take(t.count, 8, `topic "${t.name}"`),
    slot: take(t.count, 4, `topic "${t.name}"`),
    size: take(t.count, 4, `topic "${t.name}"`),
    time: take(t.count, 8, `topic "${t.name}"`),
    ...(t.expiry === undefined ? {} : { expiry: t.expiry }),
  };
}

/** The topics, in id order, checked against the snapshot's index and time. */
export function restoreTopics(entries: TopicEntry[], appliedIndex: number, time: number): TopicIndex[] {
  const unique = uniqueNames("topic");
  return entries.map((t, id) => {
    unique(t.name);
    const count = Math.floor(t.logIndex.byteLength / 8);
    const where = `topic "${t.name}"`;
    const columns = {
      logIndex: column(f64, t.logIndex, count, `${where} logIndex`),
      slot: column(u32, t.slot, count, `${where} slot`),
      size: column(u32, t.size, count, `${where} size`),
      time: column(f64, t.time, count, `${where} time`),
    };
    checkAscending(columns.logIndex, false, 1, appliedIndex, `${where} logIndex`);
    checkAscending(columns.time, false, 0, time, `${where} time`);
    if (!Number.isSafeInteger(t.firstOffset + count)) throw corrupt(`${where} offsets overflow`);
    const topic = topicFromColumns(t.name, id, t.firstOffset, columns);
    for (const [offset, expiresAt] of t.expiry ?? []) {
      if (offset < t.firstOffset || offset >= t.firstOffset + count)
        throw corrupt(`${where} expiry of offset ${offset}`);
      topic.setExpiry(offset, expiresAt);
    }
    return topic;
  });
}
