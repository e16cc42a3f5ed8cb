/** Damage done to a log segment on a simulated disk while its broker is down: the disk-fault part of the injector. */
import { join } from "node:path";
import { RECORD_PREFIX_SIZE, SEGMENT_HEADER_SIZE } from "../../../src/storage/record-codec.ts";
import { listSegments } from "../../../src/storage/segment-scan.ts";
import type { SimFs } from "../../../src/storage/sim-fs.ts";
import type { Prng } from "../../../src/util/prng.ts";

/** The simulated brokers' data folder (sim-replica.ts). */
const LOG_DIR = "/data/log";

export interface Damage {
  file: string;
  offset: number;
  how: "header bit" | "zeroed header" | "length bit" | "record bit";
}

/**
 * Damages one segment (the newest more often): a bit of its header, its whole header zeroed, a bit of a record's
 * length field, or any bit of a record, the newest segment's last record included: it may have been fsynced and
 * acknowledged, and recovery must not take its damage for a torn write. Undefined when there is nothing to damage.
 */
export function damageSegment(fs: SimFs, prng: Prng): Damage | undefined {
  let segments: { name: string }[];
  try {
    segments = listSegments(fs, LOG_DIR).segments;
  } catch {
    return undefined;
  }
  if (segments.length === 0) return undefined;
  const newest = segments.length - 1;
  const k = prng.chance(0.6) ? newest : prng.int(0, newest);
  const file = join(LOG_DIR, (segments[k] as { name: string }).name);
  const starts = recordStarts(fs, file);
  const how = prng.pick(["header bit", "zeroed header", "length bit", "record bit"] as const);
  if (how === "header bit" || how === "zeroed header") {
    // A header is only judged when the file holds a record after it; else it is a segment never written to.
    if (starts.length === 0) return undefined;
    if (how === "header bit") fs.flipBit(file, prng.int(0, SEGMENT_HEADER_SIZE - 1), prng.int(0, 7));
    else zero(fs, file, SEGMENT_HEADER_SIZE);
    return { file, offset: 0, how };
  }
  const start = starts.length === 0 ? undefined : prng.pick(starts);
  if (start === undefined) return undefined;
  const offset =
    how === "length bit" ? start + prng.int(0, 3) : start + prng.int(0, recordEnd(fs, file, start) - start - 1);
  fs.flipBit(file, offset, prng.int(0, 7));
  return { file, offset, how };
}

/** Byte offsets of the whole records of a segment (a torn record at its end, cut short, is not one). */
function recordStarts(fs: SimFs, path: string): number[] {
  const bytes = read(fs, path);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: number[] = [];
  for (let pos = SEGMENT_HEADER_SIZE; pos + RECORD_PREFIX_SIZE <= bytes.length; ) {
    const end = pos + RECORD_PREFIX_SIZE + view.getUint32(pos);
    if (end > bytes.length) break;
    out.push(pos);
    pos = end;
  }
  return out;
}

function recordEnd(fs: SimFs, path: string, start: number): number {
  const bytes = read(fs, path);
  return start + RECORD_PREFIX_SIZE + new DataView(bytes.buffer, bytes.byteOffset).getUint32(start);
}

function read(fs: SimFs, path: string): Uint8Array {
  const fd = fs.open(path, "r");
  try {
    const bytes = new Uint8Array(fs.size(fd));
    fs.read(fd, bytes, 0);
    return bytes;
  } finally {
    fs.close(fd);
  }
}

/** Overwrites the first `length` bytes with zeros, on the disk itself (the machine is down). */
function zero(fs: SimFs, path: string, length: number): void {
  const fd = fs.open(path, "r+");
  try {
    fs.write(fd, new Uint8Array(length), 0);
    fs.datasyncSync(fd);
  } finally {
    fs.close(fd);
  }
}
