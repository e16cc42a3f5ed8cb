import type { EntryKind } from "../raft/log-types.ts";
import { crc32Update } from "./crc32.ts";

/**
 * Binary layout of log segments (big-endian, as the wire frames). docs/storage.md describes it.
 *
 * Segment header, 28 bytes:
 *   magic u32 "MQSG" | version u32 | firstIndex u64 | prevTerm u64 | crc32 u32 (of the 24 bytes before)
 * Record:
 *   length u32 | crc32 u32 | payload: index u64 | term u64 | kind u8 | data
 * `length` counts the payload; the CRC covers the length field and the payload, so a damaged
 * length is caught as surely as damaged data. A fixed binary header instead of CBOR keeps
 * appending and scanning cheap; it is validated field by field when read.
 */
export const SEGMENT_MAGIC = 0x4d515347;
export const FORMAT_VERSION = 1;
export const SEGMENT_HEADER_SIZE = 28;
export const RECORD_PREFIX_SIZE = 8;
export const PAYLOAD_HEADER_SIZE = 17;
export const RECORD_OVERHEAD = RECORD_PREFIX_SIZE + PAYLOAD_HEADER_SIZE;
/** A payload longer than this is taken for a damaged length field. */
export const MAX_PAYLOAD_SIZE = 1 << 30;

const TWO_32 = 2 ** 32;

function putU64(view: DataView, offset: number, n: number): void {
  view.setUint32(offset, Math.floor(n / TWO_32));
  view.setUint32(offset + 4, n >>> 0);
}

/** The u64 at `offset`, or -1 when it does not fit a JS safe integer. */
function getU64(view: DataView, offset: number): number {
  const hi = view.getUint32(offset);
  if (hi > 0x1fffff) return -1;
  return hi * TWO_32 + view.getUint32(offset + 4);
}

/** One view per buffer, passed along: creating a DataView per record cost more than checksumming it. */
export function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

export function encodeSegmentHeader(firstIndex: number, prevTerm: number): Uint8Array {
  const bytes = new Uint8Array(SEGMENT_HEADER_SIZE);
  const view = viewOf(bytes);
  view.setUint32(0, SEGMENT_MAGIC);
  view.setUint32(4, FORMAT_VERSION);
  putU64(view, 8, firstIndex);
  putU64(view, 16, prevTerm);
  view.setUint32(24, crc32Update(0, bytes.subarray(0, 24)));
  return bytes;
}

export type HeaderDecode = { ok: true; firstIndex: number; prevTerm: number } | { ok: false; problem: string };

export function decodeSegmentHeader(bytes: Uint8Array): HeaderDecode {
  if (bytes.length < SEGMENT_HEADER_SIZE)
    return { ok: false, problem: `header cut short (${bytes.length} of ${SEGMENT_HEADER_SIZE} bytes)` };
  const view = viewOf(bytes);
  if (view.getUint32(24) !== crc32Update(0, bytes.subarray(0, 24)))
    return { ok: false, problem: "header checksum mismatch" };
  if (view.getUint32(0) !== SEGMENT_MAGIC) return { ok: false, problem: "not a segment file (bad magic)" };
  if (view.getUint32(4) !== FORMAT_VERSION)
    return { ok: false, problem: `unsupported segment format version ${view.getUint32(4)}` };
  const firstIndex = getU64(view, 8);
  const prevTerm = getU64(view, 16);
  if (firstIndex < 1 || prevTerm < 0) return { ok: false, problem: "header fields out of range" };
  return { ok: true, firstIndex, prevTerm };
}

export interface RecordFields {
  index: number;
  term: number;
  kind: EntryKind;
  data: Uint8Array;
}

export function recordSize(dataLength: number): number {
  return RECORD_OVERHEAD + dataLength;
}

/**
 * Writes one record at `offset` of `out` (which must have room for it); returns its size.
 * `view` must be viewOf(out).
 */
export function encodeRecordInto(out: Uint8Array, offset: number, r: RecordFields, view = viewOf(out)): number {
  const size = recordSize(r.data.length);
  view.setUint32(offset, PAYLOAD_HEADER_SIZE + r.data.length);
  putU64(view, offset + 8, r.index);
  putU64(view, offset + 16, r.term);
  view.setUint8(offset + 24, r.kind);
  out.set(r.data, offset + RECORD_OVERHEAD);
  let crc = crc32Update(0, out.subarray(offset, offset + 4));
  crc = crc32Update(crc, out.subarray(offset + RECORD_PREFIX_SIZE, offset + size));
  view.setUint32(offset + 4, crc);
  return size;
}

/** The records of entries[from, to), back to back in one buffer. */
export function encodeRecords(entries: readonly RecordFields[], from = 0, to = entries.length): Uint8Array {
  let bytes = 0;
  for (let j = from; j < to; j++) bytes += recordSize((entries[j] as RecordFields).data.length);
  const out = new Uint8Array(bytes);
  const view = viewOf(out);
  let at = 0;
  for (let j = from; j < to; j++) at += encodeRecordInto(out, at, entries[j] as RecordFields, view);
  return out;
}

export type RecordDecode =
  | { ok: true; record: RecordFields; size: number }
  /** `need` is set when the bytes end inside a record whose length field looks sound. */
  | { ok: false; problem: string; need?: number };

/** Decodes the record at `offset` of `bytes`; `data` is a view into `bytes`. `view` must be viewOf(bytes). */
export function decodeRecordAt(bytes: Uint8Array, offset: number, view = viewOf(bytes)): RecordDecode {
  const avail = bytes.length - offset;
  if (avail < RECORD_PREFIX_SIZE)
    return { ok: false, problem: `record prefix cut short (${avail} of ${RECORD_PREFIX_SIZE} bytes)` };
  const length = view.getUint32(offset);
  if (length < PAYLOAD_HEADER_SIZE || length > MAX_PAYLOAD_SIZE)
    return { ok: false, problem: `impossible record length ${length}` };
  const size = RECORD_PREFIX_SIZE + length;
  if (avail < size) return { ok: false, problem: `record cut short (${avail} of ${size} bytes)`, need: size };
  let crc = crc32Update(0, bytes.subarray(offset, offset + 4));
  crc = crc32Update(crc, bytes.subarray(offset + RECORD_PREFIX_SIZE, offset + size));
  if (crc !== view.getUint32(offset + 4)) return { ok: false, problem: "record checksum mismatch" };
  const index = getU64(view, offset + 8);
  const term = getU64(view, offset + 16);
  const kind = view.getUint8(offset + 24);
  if (index < 1 || term < 0) return { ok: false, problem: "record index or term out of range" };
  if (kind !== 0 && kind !== 1) return { ok: false, problem: `unknown entry kind ${kind}` };
  return {
    ok: true,
    record: { index, term, kind, data: bytes.subarray(offset + RECORD_OVERHEAD, offset + size) },
    size,
  };
}
