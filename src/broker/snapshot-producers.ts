import * as v from "valibot";
import { ProducerIdSchema, WholeNumberSchema } from "../util/names.ts";
import { type ProducerWindow, producerFromColumns, SEQS_PER_PRODUCER } from "./producer-window.ts";
import { type ColumnReader, checkAscending, column, corrupt, f64, u32, uniqueNames } from "./snapshot-format.ts";
import type { TopicIndex } from "./topic-index.ts";

/**
 * The producers' section of a snapshot (the dedup window): a header entry per producer, from least to most recently
 * active, then its three columns of remembered seqs.
 */

const Bytes = v.instance(Uint8Array<ArrayBufferLike>);

/** A producer as version 1 holds it (the columns as bytes). */
export const ProducerV1Schema = v.object({
  id: ProducerIdSchema,
  lastSeen: WholeNumberSchema,
  seq: Bytes,
  topicId: Bytes,
  offset: Bytes,
});

const headerProducer = { id: ProducerIdSchema, lastSeen: WholeNumberSchema, count: WholeNumberSchema };
export const HeaderProducerV2Schema = v.object(headerProducer);
/** epoch 0: never registered (nextSeq unused); session: of the register that started the epoch, if any. */
export const HeaderProducerV3Schema = v.object({
  ...headerProducer,
  epoch: WholeNumberSchema,
  nextSeq: WholeNumberSchema,
  session: v.optional(ProducerIdSchema),
  /** The session of the epoch before (a register with it is refused). */
  replaced: v.optional(ProducerIdSchema),
});
type HeaderProducer = v.InferOutput<typeof HeaderProducerV2Schema> | v.InferOutput<typeof HeaderProducerV3Schema>;

/** Any version once read: version 1's fields, and version 3's registration when there is one. */
type ProducerEntry = v.InferOutput<typeof ProducerV1Schema> & {
  epoch?: number;
  nextSeq?: number;
  session?: string;
  replaced?: string;
};

/** The producer's header entry; its columns (views, not copies) go to `columns`. */
export function encodeProducer(p: ProducerWindow, columns: Uint8Array[]): v.InferOutput<typeof HeaderProducerV3Schema> {
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
}

export function readProducer(p: HeaderProducer, take: ColumnReader): ProducerEntry {
  return {
    id: p.id,
    lastSeen: p.lastSeen,
    seq: take(p.count, 8, `producer "${p.id}"`),
    topicId: take(p.count, 4, `producer "${p.id}"`),
    offset: take(p.count, 8, `producer "${p.id}"`),
    ...("epoch" in p ? { epoch: p.epoch, nextSeq: p.nextSeq } : {}),
    ...("session" in p && p.session !== undefined ? { session: p.session } : {}),
    ...("replaced" in p && p.replaced !== undefined ? { replaced: p.replaced } : {}),
  };
}

/** The producers, each checked against the snapshot's index and time and the topics' offsets. */
export function restoreProducers(
  entries: ProducerEntry[],
  appliedIndex: number,
  time: number,
  topics: readonly TopicIndex[],
): ProducerWindow[] {
  const unique = uniqueNames("producer");
  let lastSeen = 0;
  return entries.map((p) => {
    unique(p.id);
    if (p.lastSeen < lastSeen || p.lastSeen > time) throw corrupt(`producer "${p.id}" is out of activity order`);
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
    if (epoch > appliedIndex) throw corrupt(`${where} has epoch ${epoch}, after the snapshot's index`);
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
}
