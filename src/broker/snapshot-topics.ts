import * as v from "valibot";
import { TopicSchema, WholeNumberSchema } from "../util/names.ts";
import { type ColumnReader, checkAscending, column, corrupt, f64, u16, u32, uniqueNames } from "./snapshot-format.ts";
import { INITIAL_CAPACITY, INITIAL_RUNS, LARGE_SIZE, TopicIndex } from "./topic-index.ts";

/**
 * The topics' section of a snapshot: a header entry per topic, then its columns (docs/state-machine.md). Version 4
 * holds a topic's runs and messages as topic-index.ts does; versions 1 to 3 held four columns a message, and are
 * read into runs.
 */

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

/**
 * A topic in the header of version 4: the columns of its `runs` runs and `count` messages follow the header;
 * largeSizes: [[offset, size]] of the retained messages of 65,535 bytes or more, by ascending offset.
 */
export const HeaderTopicV4Schema = v.object({
  ...HeaderTopicSchema.entries,
  runs: WholeNumberSchema,
  largeSizes: v.optional(v.array(v.strictTuple([WholeNumberSchema, WholeNumberSchema]))),
});
type HeaderTopicV4 = v.InferOutput<typeof HeaderTopicV4Schema>;

/** A version 4 topic once read: its columns as bytes. */
interface RunsEntry {
  name: string;
  firstOffset: number;
  count: number;
  runs: number;
  bytes: Record<Exclude<keyof TopicColumns, "largeSizes">, Uint8Array>;
  largeSizes?: [number, number][];
  expiry?: [number, number][];
}

/** The topic's header entry; its columns (views, not copies) go to `columns`, in the order readTopicV4 takes them. */
export function encodeTopic(t: TopicIndex, columns: Uint8Array[]): HeaderTopicV4 {
  const c = t.snapshotColumns();
  columns.push(c.logIndex, c.time, c.start, c.slotHigh, c.size, c.slotLow);
  const expiry = t.expiry === undefined ? {} : { expiry: [...t.expiry] };
  const large = t.largeSizes === undefined ? {} : { largeSizes: [...t.largeSizes] };
  return { name: t.name, firstOffset: t.firstOffset, count: t.count, runs: t.runs, ...large, ...expiry };
}

export function readTopic(t: HeaderTopic, take: ColumnReader): TopicEntry {
  const where = `topic "${t.name}"`;
  return {
    name: t.name,
    firstOffset: t.firstOffset,
    logIndex: take(t.count, 8, where),
    slot: take(t.count, 4, where),
    size: take(t.count, 4, where),
    time: take(t.count, 8, where),
    ...(t.expiry === undefined ? {} : { expiry: t.expiry }),
  };
}

export function readTopicV4(t: HeaderTopicV4, take: ColumnReader): RunsEntry {
  const where = `topic "${t.name}"`;
  const bytes = {
    logIndex: take(t.runs, 8, where),
    time: take(t.runs, 8, where),
    start: take(Math.max(0, t.runs - 1), 8, where),
    slotHigh: take(t.runs, 2, where),
    size: take(t.count, 2, where),
    slotLow: take(t.count, 2, where),
  };
  const large = t.largeSizes === undefined ? {} : { largeSizes: t.largeSizes };
  return { name: t.name, firstOffset: t.firstOffset, count: t.count, runs: t.runs, bytes, ...large, ...expiryOf(t) };
}

const expiryOf = (t: { expiry?: [number, number][] | undefined }) =>
  t.expiry === undefined ? {} : { expiry: t.expiry };

/** The topics, in id order, checked against the snapshot's index and time. */
export function restoreTopics(entries: (TopicEntry | RunsEntry)[], appliedIndex: number, time: number): TopicIndex[] {
  const unique = uniqueNames("topic");
  return entries.map((t, id) => {
    unique(t.name);
    const where = `topic "${t.name}"`;
    const columns = "bytes" in t ? runColumns(t, where) : messageColumns(t, where);
    const count = columns.size.length;
    if (!Number.isSafeInteger(t.firstOffset + count)) throw corrupt(`${where} offsets overflow`);
    checkRuns(columns, t.firstOffset, appliedIndex, time, where);
    const topic = topicFromColumns(t.name, id, t.firstOffset, columns);
    for (const [offset, expiresAt] of t.expiry ?? []) {
      if (offset < t.firstOffset || offset >= t.firstOffset + count)
        throw corrupt(`${where} expiry of offset ${offset}`);
      topic.setExpiry(offset, expiresAt);
    }
    return topic;
  });
}

function runColumns(t: RunsEntry, where: string): TopicColumns {
  const { bytes, runs, count } = t;
  if ((runs === 0) !== (count === 0) || runs > count) throw corrupt(`${where} has ${runs} runs of ${count} messages`);
  return {
    logIndex: column(f64, bytes.logIndex, runs, `${where} logIndex`),
    time: column(f64, bytes.time, runs, `${where} time`),
    start: column(f64, bytes.start, Math.max(0, runs - 1), `${where} start`),
    slotHigh: column(u16, bytes.slotHigh, runs, `${where} slotHigh`),
    size: column(u16, bytes.size, count, `${where} size`),
    slotLow: column(u16, bytes.slotLow, count, `${where} slotLow`),
    largeSizes: t.largeSizes ?? [],
  };
}

/** Runs and messages are consistent, and split exactly where a message's log index, time or slot's high half changes. */
function checkRuns(c: TopicColumns, firstOffset: number, appliedIndex: number, time: number, where: string): void {
  const count = c.size.length;
  checkAscending(c.logIndex, false, 1, appliedIndex, `${where} logIndex`);
  checkAscending(c.time, false, 0, time, `${where} time`);
  checkAscending(c.start, true, firstOffset + 1, firstOffset + count - 1, `${where} start`);
  for (let r = 1; r < c.logIndex.length; r++) {
    if (c.logIndex[r] === c.logIndex[r - 1] && c.time[r] === c.time[r - 1] && c.slotHigh[r] === c.slotHigh[r - 1])
      throw corrupt(`${where} runs ${r - 1} and ${r} should be one`);
  }
  let large = 0;
  for (let i = 0; i < count; i++) if (c.size[i] === LARGE_SIZE) large++;
  let previous = firstOffset - 1;
  for (const [offset, size] of c.largeSizes) {
    if (offset <= previous || offset >= firstOffset + count || size < LARGE_SIZE)
      throw corrupt(`${where} large size ${size} of offset ${offset}`);
    if (c.size[offset - firstOffset] !== LARGE_SIZE) throw corrupt(`${where} offset ${offset} has a small size`);
    previous = offset;
  }
  if (large !== c.largeSizes.length) throw corrupt(`${where} has ${large} large sizes, ${c.largeSizes.length} given`);
}

/** Versions 1 to 3: a topic's four columns a message, cut into runs as topic-index.ts makes them. */
function messageColumns(t: TopicEntry, where: string): TopicColumns {
  const count = Math.floor(t.logIndex.byteLength / 8);
  const logIndex = column(f64, t.logIndex, count, `${where} logIndex`);
  const slot = column(u32, t.slot, count, `${where} slot`);
  const sizes = column(u32, t.size, count, `${where} size`);
  const time = column(f64, t.time, count, `${where} time`);
  const slotLow = new Uint16Array(count);
  const size = new Uint16Array(count);
  const largeSizes: [number, number][] = [];
  const runs: { logIndex: number[]; time: number[]; start: number[]; slotHigh: number[] } = {
    logIndex: [],
    time: [],
    start: [],
    slotHigh: [],
  };
  for (let i = 0; i < count; i++) {
    const s = slot[i] as number;
    const high = Math.floor(s / 0x10000);
    slotLow[i] = s % 0x10000;
    const bytes = sizes[i] as number;
    size[i] = Math.min(bytes, LARGE_SIZE);
    if (bytes >= LARGE_SIZE) largeSizes.push([t.firstOffset + i, bytes]);
    const last = runs.logIndex.length - 1;
    if (last >= 0 && runs.logIndex[last] === logIndex[i] && runs.time[last] === time[i] && runs.slotHigh[last] === high)
      continue;
    if (last >= 0) runs.start.push(t.firstOffset + i);
    runs.logIndex.push(logIndex[i] as number);
    runs.time.push(time[i] as number);
    runs.slotHigh.push(high);
  }
  return {
    logIndex: Float64Array.from(runs.logIndex),
    time: Float64Array.from(runs.time),
    start: Float64Array.from(runs.start),
    slotHigh: Uint16Array.from(runs.slotHigh),
    size,
    slotLow,
    largeSizes,
  };
}

/** The runs and messages of a topic as a snapshot holds them (SnapshotColumns, decoded). */
interface TopicColumns {
  logIndex: Float64Array;
  time: Float64Array;
  /** Where each run but the first starts. */
  start: Float64Array;
  slotHigh: Uint16Array;
  /** LARGE_SIZE where the size is in `largeSizes`. */
  size: Uint16Array;
  slotLow: Uint16Array;
  /** [offset, size] of the messages of LARGE_SIZE bytes or more. */
  largeSizes: [number, number][];
}

/** A topic rebuilt from its snapshot columns, once checked (checkRuns). */
function topicFromColumns(name: string, id: number, firstOffset: number, c: TopicColumns): TopicIndex {
  const count = c.size.length;
  const runs = c.logIndex.length;
  const topic = new TopicIndex(name, id, Math.max(INITIAL_CAPACITY, count), Math.max(INITIAL_RUNS, runs));
  topic.size.set(c.size);
  topic.slotLow.set(c.slotLow);
  topic.runLogIndex.set(c.logIndex);
  topic.runTime.set(c.time);
  topic.runSlotHigh.set(c.slotHigh);
  if (runs > 0) topic.runStart[0] = firstOffset;
  topic.runStart.set(c.start, 1);
  topic.tail = count;
  topic.runTail = runs;
  topic.firstOffset = firstOffset;
  let bytes = 0;
  for (let i = 0; i < count; i++) if (c.size[i] !== LARGE_SIZE) bytes += c.size[i] as number;
  for (const [offset, size] of c.largeSizes) {
    topic.largeSizes ??= new Map();
    topic.largeSizes.set(offset, size);
    bytes += size;
  }
  topic.bytes = bytes;
  return topic;
}
