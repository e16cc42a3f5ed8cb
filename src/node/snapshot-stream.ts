import * as v from "valibot";
import type { Entry, EntryKind, LogReader, Snapshot, SnapshotMeta } from "../raft/index.ts";
import { crc32, crc32Update } from "../storage/crc32.ts";
import { snapshotParts } from "../storage/parts-snapshot.ts";
import { assert } from "../util/assert.ts";
import { decode, encode } from "../util/cbor-x.ts";
import { MqraftError } from "../util/errors.ts";

/**
 * The byte stream a leader sends a follower for its snapshot, and `mqraft snapshot save` writes to a file
 * (docs/snapshots.md): a header, the state machine's bytes, the log entries at or below the snapshot's index that
 * still hold retained messages (the log is the message store), and a CRC-32 of everything before it. It is
 * produced a piece at a time from the store, so the sender never holds more than one batch of entries.
 */
export const STREAM_MAGIC = 0x4d515458; // "MQTX"
export const ENTRY_HEADER_SIZE = 13; // term u64, kind u8, length u32
const BATCH_BYTES = 1 << 20;

const MetaSchema = v.object({
  index: v.pipe(v.number(), v.safeInteger(), v.minValue(1)),
  term: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  membership: v.object({
    voters: v.array(v.pipe(v.number(), v.safeInteger(), v.minValue(1))),
    learners: v.array(v.pipe(v.number(), v.safeInteger(), v.minValue(1))),
    addresses: v.record(v.string(), v.string()),
  }),
});
const HeaderSchema = v.object({
  meta: MetaSchema,
  /** Term of the entry before `first`. */
  prevTerm: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  /** Index of the first entry; the entries run from it to meta.index (none when it is meta.index + 1). */
  first: v.pipe(v.number(), v.safeInteger(), v.minValue(1)),
  stateBytes: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  /**
   * Bytes of entry data the entries carry together, when the leader's store can tell from its index: with it the
   * follower knows the stream's size from its first chunk, and refuses a transfer larger than it (or than its
   * --max-snapshot) before writing it (snapshot-file-receiver.ts).
   */
  historyBytes: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(0))),
});
export type StreamHeader = v.InferOutput<typeof HeaderSchema>;

/** A log whose index tells how many bytes of entry data a range of entries holds, without reading them. */
export interface SizedLogReader extends LogReader {
  dataBytes?(lo: number, hi: number): number;
}

export interface DecodedStream {
  meta: SnapshotMeta;
  state: Uint8Array;
  prevTerm: number;
  entries: Entry[];
}

/**
 * The pieces of the stream of `snapshot` with the log entries `store` holds at or below its index. Throws
 * MqraftError UNAVAILABLE when the store dropped entries it still had to send (compaction went on meanwhile).
 */
export function* streamPieces(store: SizedLogReader, snapshot: Snapshot): Generator<Uint8Array> {
  const first = Math.min(store.firstIndex(), snapshot.meta.index + 1);
  const state = snapshotParts(snapshot);
  const historyBytes = store.dataBytes?.(first, snapshot.meta.index + 1);
  const header: StreamHeader = {
    meta: snapshot.meta,
    prevTerm: store.term(first - 1) ?? 0,
    first,
    stateBytes: state.reduce((n, p) => n + p.length, 0),
    ...(historyBytes === undefined ? {} : { historyBytes }),
  };
  let crc = 0;
  const emit = (piece: Uint8Array): Uint8Array => {
    crc = crc32Update(crc, piece);
    return piece;
  };
  const cbor = encode(header);
  const prefix = new Uint8Array(8);
  new DataView(prefix.buffer).setUint32(0, STREAM_MAGIC);
  new DataView(prefix.buffer).setUint32(4, cbor.length);
  yield emit(prefix);
  yield emit(cbor);
  for (const part of state) yield emit(part);
  let sent = 0;
  for (let next = first; next <= snapshot.meta.index; ) {
    if (next < store.firstIndex())
      throw new MqraftError("UNAVAILABLE", `entry ${next} was compacted while the snapshot was being sent`);
    for (const entry of store.entries(next, snapshot.meta.index + 1, BATCH_BYTES)) {
      yield emit(entryHeader(entry));
      yield emit(entry.data);
      sent += entry.data.length;
      next = entry.index + 1;
    }
  }
  assert(historyBytes === undefined || sent === historyBytes, () => {
    return `the snapshot stream at ${snapshot.meta.index} announced ${historyBytes} bytes of entries and carried ${sent}`;
  });
  const trailer = new Uint8Array(4);
  new DataView(trailer.buffer).setUint32(0, crc >>> 0);
  yield trailer;
}

function entryHeader(entry: Entry): Uint8Array {
  const bytes = new Uint8Array(ENTRY_HEADER_SIZE);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, Math.floor(entry.term / 2 ** 32));
  view.setUint32(4, entry.term >>> 0);
  view.setUint8(8, entry.kind);
  view.setUint32(9, entry.data.length);
  return bytes;
}

/**
 * Checks a whole stream (its CRC, then every field) and returns its parts, views into `bytes`; `what` names it in
 * the CORRUPT error ("the snapshot from broker 2", "snapshot file x.snap").
 */
export function decodeStream(bytes: Uint8Array, what: string): DecodedStream {
  const corrupt = (problem: string) => new MqraftError("CORRUPT", `${what} is corrupt or truncated: ${problem}`);
  if (bytes.length < 12) throw corrupt(`${bytes.length} bytes is shorter than any snapshot`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  if (view.getUint32(0) !== STREAM_MAGIC) throw corrupt("it does not start as an mqraft snapshot");
  const body = bytes.subarray(0, bytes.length - 4);
  if (crc32(body) >>> 0 !== view.getUint32(bytes.length - 4)) throw corrupt("its checksum does not match");
  const { header, headerEnd } = parseStreamHeader(
    bytes,
    (length) => bytes.subarray(8, 8 + length),
    body.length,
    corrupt,
  );
  let at = headerEnd + header.stateBytes;
  if (at > body.length) throw corrupt("its state runs past the end");
  const state = bytes.subarray(headerEnd, at);
  const entries: Entry[] = [];
  for (let index = header.first; index <= header.meta.index; index++) {
    if (at + ENTRY_HEADER_SIZE > body.length) throw corrupt(`it ends before entry ${index}`);
    const term = view.getUint32(at) * 2 ** 32 + view.getUint32(at + 4);
    const kind = view.getUint8(at + 8);
    const length = view.getUint32(at + 9);
    at += ENTRY_HEADER_SIZE;
    if (kind !== 0 && kind !== 1) throw corrupt(`entry ${index} has kind ${kind}`);
    if (at + length > body.length) throw corrupt(`entry ${index} runs past the end`);
    entries.push({ index, term, kind: kind as EntryKind, data: bytes.subarray(at, at + length) });
    at += length;
  }
  if (at !== body.length) throw corrupt(`${body.length - at} bytes follow the last entry`);
  return { meta: header.meta, state, prevTerm: header.prevTerm, entries };
}

/**
 * The header of a stream from its first 8 bytes (`prefix`) and the CBOR after them (`read(length)`), in a stream
 * whose body (all but the CRC) is `bodyLength` bytes.
 */
export function parseStreamHeader(
  prefix: Uint8Array,
  read: (length: number) => Uint8Array,
  bodyLength: number,
  corrupt: (problem: string) => MqraftError,
): { header: StreamHeader; headerEnd: number } {
  const view = new DataView(prefix.buffer, prefix.byteOffset, 8);
  if (view.getUint32(0) !== STREAM_MAGIC) throw corrupt("it does not start as an mqraft snapshot");
  const headerEnd = 8 + view.getUint32(4);
  if (headerEnd > bodyLength) throw corrupt("its header runs past the end");
  let raw: unknown;
  try {
    raw = decode(read(headerEnd - 8));
  } catch (e) {
    throw corrupt(`its header is not CBOR (${e instanceof Error ? e.message : String(e)})`);
  }
  const parsed = v.safeParse(HeaderSchema, raw);
  if (!parsed.success) throw corrupt(`its header is malformed: ${parsed.issues[0]?.message}`);
  return { header: parsed.output, headerEnd };
}

/** The size of the whole stream whose first 8 bytes + header are these, when the header announces its entries' bytes. */
export function announcedSize(header: StreamHeader, headerEnd: number): number | undefined {
  if (header.historyBytes === undefined) return undefined;
  const entries = Math.max(0, header.meta.index - header.first + 1);
  return headerEnd + header.stateBytes + entries * ENTRY_HEADER_SIZE + header.historyBytes + 4;
}

/**
 * Checks a stream read a chunk at a time (`mqraft snapshot save`) without holding it: the CRC of every byte but the
 * last 4, which must be that CRC.
 */
export class StreamChecksum {
  private crc = 0;
  private tail = new Uint8Array(0);

  update(bytes: Uint8Array): void {
    const hashed = Math.max(0, this.tail.length + bytes.length - 4);
    const fromTail = Math.min(this.tail.length, hashed);
    this.crc = crc32Update(this.crc, this.tail.subarray(0, fromTail));
    this.crc = crc32Update(this.crc, bytes.subarray(0, hashed - fromTail));
    const rest = new Uint8Array(this.tail.length - fromTail + bytes.length - (hashed - fromTail));
    rest.set(this.tail.subarray(fromTail));
    rest.set(bytes.subarray(hashed - fromTail), this.tail.length - fromTail);
    this.tail = rest;
  }

  matches(): boolean {
    if (this.tail.length !== 4) return false;
    return new DataView(this.tail.buffer).getUint32(0) === this.crc >>> 0;
  }
}
