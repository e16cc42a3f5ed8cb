import type { Entry } from "../raft/log-types.ts";
import { assert } from "../util/assert.ts";
import { MqraftError } from "../util/errors.ts";
import type { IndexTable } from "./index-table.ts";
import { decodeRecordAt, RECORD_OVERHEAD, viewOf } from "./record-codec.ts";
import type { SegmentFiles } from "./segment-files.ts";

/** Entries [lo, hi), stopping before the data would exceed maxBytes (but returning at least one entry). */
export function readEntries(files: SegmentFiles, index: IndexTable, lo: number, hi: number, maxBytes: number): Entry[] {
  const out: Entry[] = [];
  let bytes = 0;
  let i = lo;
  while (i < hi) {
    const got = readRecords(files, index, i, hi, maxBytes - bytes, out.length === 0);
    if (got.length === 0) break;
    for (const e of got) bytes += e.data.length;
    out.push(...got);
    i += got.length;
  }
  return out;
}

/**
 * Reads entries [lo, stop) from the segment files, within one segment per call and with a single
 * read of the whole run, stopping before the data would exceed `budget` bytes (but returning at
 * least one entry when `atLeastOne`). Every record is checked again: damage found after recovery
 * is a CORRUPT error naming the file and offset.
 */
function readRecords(
  files: SegmentFiles,
  index: IndexTable,
  lo: number,
  stop: number,
  budget: number,
  atLeastOne: boolean,
): Entry[] {
  const k = files.positionOf(lo);
  const seg = files.list[k];
  if (seg === undefined) return [];
  const segLast = (files.list[k + 1]?.firstIndex ?? index.lastIndex + 1) - 1;
  const end = (i: number): number => (i < segLast ? index.position(i + 1) : seg.size);
  const start = index.position(lo);
  let hi = lo;
  let data = 0;
  while (hi < stop && hi <= segLast) {
    const size = end(hi) - index.position(hi) - RECORD_OVERHEAD;
    if ((hi > lo || !atLeastOne) && data + size > budget) break;
    data += size;
    hi++;
  }
  if (hi === lo) return [];
  const bytes = files.read(seg, start, end(hi - 1));
  if (bytes.length !== end(hi - 1) - start) {
    throw new MqraftError("CORRUPT", `log segment ${seg.path} ends before byte ${end(hi - 1)}`);
  }
  const out: Entry[] = [];
  const view = viewOf(bytes);
  for (let i = lo; i < hi; i++) {
    const at = index.position(i) - start;
    const d = decodeRecordAt(bytes.subarray(0, end(i) - start), at, view);
    if (!d.ok) {
      throw new MqraftError(
        "CORRUPT",
        `log segment ${seg.path} is corrupt at byte ${start + at} (index ${i}): ${d.problem}`,
      );
    }
    // A sound record (its checksum holds) is what was written there: another index or term than the one the store
    // put at that place means its own bookkeeping broke, not the disk.
    assert(
      d.record.index === i && d.record.term === index.term(i),
      () =>
        `the record read back at ${seg.path} byte ${start + at} holds index ${d.record.index} term ${d.record.term}, written as index ${i} term ${index.term(i)}`,
    );
    out.push(d.record);
  }
  return out;
}
