/**
 * The log's write path across segment files (log-store.ts appends through it): entries spread over segments of a
 * bounded size, and the way back to the last durable state after a write or sync failed (a full disk).
 */
import type { Entry } from "../raft/log-types.ts";
import type { IndexTable } from "./index-table.ts";
import { recordSize } from "./record-codec.ts";
import type { Segment, SegmentFiles } from "./segment-files.ts";

/**
 * Writes contiguous entries after the log's last one (in `index`), starting a new segment (after sealing the full one)
 * whenever the next record would pass `maxSegmentBytes`; a segment holding no record takes one whatever its size.
 */
export function writeEntries(
  files: SegmentFiles,
  index: IndexTable,
  entries: readonly Entry[],
  maxSegmentBytes: number,
  termOf: (index: number) => number | undefined,
  seal: (seg: Segment) => void,
): void {
  let k = 0;
  while (k < entries.length) {
    const first = entries[k] as Entry;
    let seg = files.newest;
    const holdsRecords = seg !== undefined && index.lastIndex >= seg.firstIndex;
    if (seg === undefined || (holdsRecords && seg.size + recordSize(first.data.length) > maxSegmentBytes)) {
      if (seg !== undefined) seal(seg);
      seg = files.create(first.index, termOf(first.index - 1) ?? 0);
    }
    let end = k;
    let bytes = 0;
    while (end < entries.length) {
      const size = recordSize((entries[end] as Entry).data.length);
      if (end > k && seg.size + bytes + size > maxSegmentBytes) break;
      bytes += size;
      end++;
    }
    for (let j = k, at = seg.size; j < end; j++) {
      const e = entries[j] as Entry;
      index.push(e.term, at);
      at += recordSize(e.data.length);
    }
    files.appendRecords(seg, entries, k, end);
    k = end;
  }
}

/**
 * After a failed write or sync, before the files are closed and the log opened again: each segment is cut back to the
 * bytes last synced, and a newest segment of which nothing was synced (not even its header) is removed. What goes
 * was never acknowledged (an entry counts as stored only once synced), and after a failed fsync the page cache may
 * hold bytes the disk never will: a reopen that read them back would take them for durable. Only the newest segment
 * can hold unsynced bytes (a full one is synced before its successor is created), so nothing is cut from the middle.
 * Bytes appended and not yet written are dropped with the files.
 */
export function cutToDurableState(files: SegmentFiles): void {
  for (let seg = files.newest; seg !== undefined && seg.durableSize === 0; seg = files.newest)
    files.remove("newest", false);
  for (const seg of files.list) if (seg.durableSize < seg.size) files.cutToDurable(seg);
  files.syncDirNowIfDirty();
}
