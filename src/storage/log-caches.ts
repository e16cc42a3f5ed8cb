import type { IndexTable } from "./index-table.ts";
import { RecentEntries } from "./recent-entries.ts";
import { recordSize } from "./record-codec.ts";
import type { Segment, SegmentFiles } from "./segment-files.ts";

/** What the log store holds in memory for reads of its tail, and what its entries take on disk (docs/memory.md). */

/**
 * At most this many entries, and bytes of entry data, are kept as objects for reads of the tail (RecentEntries): enough
 * for the reads that follow an append by a few entries (sending to followers, applying once committed, pushing to
 * subscribers), also when a loaded broker packs each entry full (1 MiB). Reads further back take their bytes from the
 * tail mirror or the file, at the cost of a copy and a checksum per read: with 1 MiB here a
 * loaded cluster's throughput fell by up to a half. An entry held longer outlives the collector's young generation,
 * and each one promoted to the old generation stays as garbage until the next full collection: with 8 MiB of entries
 * held here, a broker taking a million 128-byte publishes had 60 to 100 MB of dead entry buffers waiting for one
 * (docs/memory.md).
 */
const RECENT_ENTRIES = 256;
const RECENT_BYTES = 4 << 20;
/**
 * The last few entries stay up to twice that when they are large: 4 MiB holds only four full batches, and with 10 KB
 * messages the reads that follow the appends then took most entries back from the mirror (a fresh 1 MiB copy each).
 */
const RECENT_LARGE_ENTRIES = 8;
const RECENT_LARGE_BYTES = 8 << 20;

/**
 * The tail mirror (the last bytes written, for reads further back than the recent entries) is kept small: every byte
 * alive in a broker raises the heap the collector lets grow before its next full collection by several (a full
 * collection comes once the heap has grown to four or five times what was alive after the last one: docs/memory.md), and the
 * recent entries already serve almost every read. What is left to the mirror is a reader a little behind where the
 * entries are small (256 entries of single publishes are about 50 KiB); a reader further back reads the file, whose
 * pages the system keeps anyway. At 8 MiB it was a third of what a broker keeps alive under load.
 */
const MIRROR_BYTES = 1 << 20;

/** The tail mirror's budget within `cacheBytes` (the log store's option; 0 keeps none). */
export function mirrorBytesFor(cacheBytes: number): number {
  return Math.min(cacheBytes, MIRROR_BYTES);
}

/** The cache of entries as appended, within `cacheBytes` (the log store's option; 0 keeps none). */
export function recentEntriesFor(cacheBytes: number): RecentEntries {
  return new RecentEntries(
    cacheBytes === 0 ? 0 : RECENT_ENTRIES,
    Math.min(cacheBytes, RECENT_BYTES),
    RECENT_LARGE_ENTRIES,
    Math.min(cacheBytes, RECENT_LARGE_BYTES),
  );
}

export interface CacheUse {
  recentEntries: number;
  recentBytes: number;
  mirroredBytes: number;
  mirrorCapacity: number;
  /** The buffer the next write's records are encoded into (segment-files.ts). */
  writeBufferBytes: number;
}

/** The caches of the log's tail, for /metrics. */
export function cacheUse(recent: RecentEntries, files: SegmentFiles): CacheUse {
  const held = recent.size;
  const mirror = files.mirrorSize;
  return {
    recentEntries: held.entries,
    recentBytes: held.bytes,
    mirroredBytes: mirror.bytes,
    mirrorCapacity: mirror.capacity,
    writeBufferBytes: files.writeBufferBytes,
  };
}

/** Bytes of entry data in [lo, hi) (all held), from the index alone: what a snapshot transfer announces. */
export function dataBytes(files: SegmentFiles, index: IndexTable, lo: number, hi: number): number {
  let bytes = 0;
  for (let at = lo; at < hi; ) {
    const k = files.positionOf(at);
    const seg = files.list[k] as Segment;
    const next = files.list[k + 1];
    const segmentEnd = next === undefined ? index.lastIndex + 1 : next.firstIndex;
    const end = Math.min(hi, segmentEnd);
    const to = end === segmentEnd ? seg.size : index.position(end);
    bytes += to - index.position(at) - (end - at) * recordSize(0);
    at = end;
  }
  return bytes;
}

/** Bytes of the segment files (as written, durable or not). */
export function logBytes(files: SegmentFiles): number {
  return files.list.reduce((bytes, seg) => bytes + seg.size, 0);
}
