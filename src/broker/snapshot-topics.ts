import * as v from "valibot";
import { TopicSchema, WholeNumberSchema } from "../util/names.ts";
import { type ColumnReader, checkAscending, column, corrupt, f64, u16, u32, uniqueNames } from "./snapshot-format.ts";
import { INITIAL_CAPACITY, INITIAL_RUNS, LARGE_SIZE, type SnapshotColumns, TopicIndex } from "./topic-index.ts";

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
 * headSlot: the slot of its first message (absent when it has none); lowSlots: whether each message's slot's low half
 * follows (topic-index.ts: only while a run has a gap); largeSizes: [[offset, size]] of the retained messages of
 * 65,535 bytes or more, by ascending offset.
 */
export const HeaderTopicV4Schema = v.object({
  ...HeaderTopicSchema.entries,
  runs: WholeNumberSchema,
  headSlot: v.optional(WholeNumberSchema),
  lowSlots: v.optional(v.literal(true)),
  largeSizes: v.optional(v.array(v.strictTuple([WholeNumberSchema, WholeNumberSchema]))),
});
type HeaderTopicV4 = v.InferOutput<typeof HeaderTopicV4Schema>;

type ColumnName = keyof SnapshotColumns;
const COLUMNS: readonly ColumnName[] = ["logIndex", "time", "start", "slot", "size", "slotLow"];

/** A version 4 topic once read: its header entry and its columns as bytes. */
interface RunsEntry {
  header: HeaderTopicV4;
  bytes: SnapshotColumns;
}

/** The topic's header entry; its columns (views, not copies) go to `columns`, in the order readTopicV4 takes them. */
export function encodeTopic(t: TopicIndex, columns: Uint8Array[]): HeaderTopicV4 {
  const c = t.snapshotColumns();
  for (const name of COLUMNS) columns.push(c[name]);
  return {
    name: t.name,
    firstOffset: t.firstOffset,
    count: t.count,
    runs: t.runs,
    ...(t.count === 0 ? {} : { headSlot: t.headSlot }),
    ...(t.slotLow === undefined ? {} : { lowSlots: true as const }),
    ...(t.largeSizes === undefined ? {} : { largeSizes: [...t.largeSizes] }),
    ...(t.expiry === undefined ? {} : { expiry: [...t.expiry] }),
  };
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
  const later = Math.max(0, t.runs - 1);
  const bytes = {
    logIndex: take(t.runs, 8, where),
    time: take(t.runs, 8, where),
    start: take(later, 8, where),
    slot: take(later, 4, where),
    size: take(t.count, 2, where),
    slotLow: take(t.lowSlots ? t.count : 0, 2, where),
  };
  return { header: t, bytes };
}

/**
 * The topics, in id order, checked against the snapshot's index and time. A version 4 topic must be what storing its
 * messages again makes (anything else is a damaged snapshot, or one no broker wrote); an older one is stored again.
 */
export function restoreTopics(entries: (TopicEntry | RunsEntry)[], appliedIndex: number, time: number): TopicIndex[] {
  const unique = uniqueNames("topic");
  return entries.map((t, id) => {
    const name = "bytes" in t ? t.header.name : t.name;
    unique(name);
    const where = `topic "${name}"`;
    const limits = new Limits(appliedIndex, time, where);
    const topic = "bytes" in t ? fromRuns(t, id, limits) : fromMessages(t, id, limits);
    for (const [offset, expiresAt] of ("bytes" in t ? t.header.expiry : t.expiry) ?? []) {
      if (offset < topic.firstOffset || offset >= topic.nextOffset)
        throw corrupt(`${where} expiry of offset ${offset}`);
      topic.setExpiry(offset, expiresAt);
    }
    return topic;
  });
}

/** What a restored message may be: log indexes and times ascending and within the snapshot's, slots u32. */
class Limits {
  private index = 1;
  private time = 0;

  constructor(
    private readonly appliedIndex: number,
    private readonly maxTime: number,
    private readonly where: string,
  ) {}

  next(index: number, time: number): void {
    if (!Number.isSafeInteger(index) || index < this.index || index > this.appliedIndex)
      throw corrupt(`${this.where} logIndex is not an ascending list of whole numbers from 1 to ${this.appliedIndex}`);
    if (!Number.isSafeInteger(time) || time < this.time || time > this.maxTime)
      throw corrupt(`${this.where} time is not an ascending list of whole numbers from 0 to ${this.maxTime}`);
    this.index = index;
    this.time = time;
  }

  slot(slot: number): number {
    if (!(slot >= 0 && slot <= 0xffffffff)) throw corrupt(`${this.where} slot ${slot}`);
    return slot;
  }

  /** A run without kept slots runs from `first` to `last`, in one high half (else it would have been split). */
  sameHigh(first: number, last: number): void {
    if (last > 0xffffffff || first >>> 16 !== last >>> 16)
      throw corrupt(`${this.where} a run of slots ${first} to ${last} crosses a multiple of 65,536`);
  }
}

function emptyTopic(name: string, id: number, firstOffset: number, count: number, runs: number): TopicIndex {
  if (!Number.isSafeInteger(firstOffset + count)) throw corrupt(`topic "${name}" offsets overflow`);
  const topic = new TopicIndex(name, id, Math.max(INITIAL_CAPACITY, count), Math.max(INITIAL_RUNS, runs));
  topic.firstOffset = firstOffset;
  return topic;
}

/**
 * Version 4: the columns taken as they are, once checked to be what storing the messages again would make (runs split
 * exactly where log index, time or the slot's high half change; slots kept exactly while a run has a gap).
 */
function fromRuns(t: RunsEntry, id: number, limits: Limits): TopicIndex {
  const { header: h, bytes } = t;
  const where = `topic "${h.name}"`;
  const { count, runs, firstOffset } = h;
  if ((runs === 0) !== (count === 0) || runs > count) throw corrupt(`${where} has ${runs} runs of ${count} messages`);
  if ((h.headSlot === undefined) !== (count === 0)) throw corrupt(`${where} headSlot with ${count} messages`);
  const topic = emptyTopic(h.name, id, firstOffset, count, runs);
  if (count === 0) return topic;
  topic.runStart[0] = firstOffset;
  topic.runStart.set(column(f64, bytes.start, runs - 1, `${where} start`), 1);
  topic.runSlot[0] = limits.slot(h.headSlot as number);
  topic.runSlot.set(column(u32, bytes.slot, runs - 1, `${where} slot`), 1);
  topic.runLogIndex.set(column(f64, bytes.logIndex, runs, `${where} logIndex`));
  topic.runTime.set(column(f64, bytes.time, runs, `${where} time`));
  const size = column(u16, bytes.size, count, `${where} size`);
  topic.size.set(size);
  const lows = h.lowSlots ? column(u16, bytes.slotLow, count, `${where} slotLow`) : undefined;
  const { runStart: starts, runSlot: firsts, runLogIndex: index, runTime: time } = topic;
  checkAscending(starts.subarray(0, runs), true, firstOffset, firstOffset + count - 1, `${where} start`);
  let gaps = 0;
  for (let r = 0; r < runs; r++) {
    limits.next(index[r] as number, time[r] as number);
    const first = firsts[r] as number;
    const start = (starts[r] as number) - firstOffset;
    const end = r + 1 < runs ? (starts[r + 1] as number) - firstOffset : count;
    if (
      r > 0 &&
      index[r] === index[r - 1] &&
      time[r] === time[r - 1] &&
      first >>> 16 === (firsts[r - 1] as number) >>> 16
    )
      throw corrupt(`${where} runs ${r - 1} and ${r} should be one`);
    if (lows === undefined) limits.sameHigh(first, first + end - start - 1);
    else {
      if (lows[start] !== (first & 0xffff))
        throw corrupt(`${where} run ${r} starts at slot ${first}, not ${lows[start]}`);
      for (let k = start + 1; k < end; k++) if (lows[k] !== (lows[k - 1] as number) + 1) gaps++;
    }
  }
  if (lows !== undefined && gaps === 0) throw corrupt(`${where} keeps slots that its runs do not need`);
  if (lows !== undefined) {
    topic.slotLow = new Uint16Array(topic.size.length);
    topic.slotLow.set(lows);
  }
  const last = runs - 1;
  const lastFirst = firsts[last] as number;
  topic.tailSlot =
    lows === undefined
      ? lastFirst + count - 1 - ((starts[last] as number) - firstOffset)
      : lastFirst - (lastFirst & 0xffff) + (lows[count - 1] as number);
  topic.gaps = gaps;
  topic.headSlot = firsts[0] as number;
  topic.tail = count;
  topic.runTail = runs;
  topic.bytes = restoredBytes(size, largeSizes(h.largeSizes ?? [], size, firstOffset, where), topic);
  return topic;
}

/** The payload bytes of the retained messages; the large sizes go to the topic. */
function restoredBytes(size: Uint16Array, large: Map<number, number>, topic: TopicIndex): number {
  let bytes = 0;
  for (let k = 0; k < size.length; k++) if (size[k] !== LARGE_SIZE) bytes += size[k] as number;
  for (const b of large.values()) bytes += b;
  if (large.size > 0) topic.largeSizes = large;
  return bytes;
}

/** The sizes of 65,535 bytes or more: at ascending offsets, each where the size column says LARGE_SIZE, and all of them. */
function largeSizes(pairs: [number, number][], size: Uint16Array, firstOffset: number, where: string) {
  let large = 0;
  for (let k = 0; k < size.length; k++) if (size[k] === LARGE_SIZE) large++;
  let previous = firstOffset - 1;
  for (const [offset, bytes] of pairs) {
    if (offset <= previous || offset >= firstOffset + size.length || bytes < LARGE_SIZE)
      throw corrupt(`${where} large size ${bytes} of offset ${offset}`);
    if (size[offset - firstOffset] !== LARGE_SIZE) throw corrupt(`${where} offset ${offset} has a small size`);
    previous = offset;
  }
  if (large !== pairs.length) throw corrupt(`${where} has ${large} large sizes, ${pairs.length} given`);
  return new Map(pairs);
}

/** Versions 1 to 3: a topic's four columns a message, each message stored again. */
function fromMessages(t: TopicEntry, id: number, limits: Limits): TopicIndex {
  const where = `topic "${t.name}"`;
  const count = Math.floor(t.logIndex.byteLength / 8);
  const logIndex = column(f64, t.logIndex, count, `${where} logIndex`);
  const slot = column(u32, t.slot, count, `${where} slot`);
  const size = column(u32, t.size, count, `${where} size`);
  const time = column(f64, t.time, count, `${where} time`);
  const topic = emptyTopic(t.name, id, t.firstOffset, count, 0);
  for (let k = 0; k < count; k++) {
    limits.next(logIndex[k] as number, time[k] as number);
    topic.append(logIndex[k] as number, slot[k] as number, size[k] as number, time[k] as number);
  }
  return topic;
}
