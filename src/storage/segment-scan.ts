import { join } from "node:path";
import type { Fs } from "./fs.ts";
import { parseSegmentFileName } from "./layout.ts";
import {
  decodeRecordAt,
  decodeSegmentHeader,
  type HeaderDecode,
  MAX_PAYLOAD_SIZE,
  PAYLOAD_HEADER_SIZE,
  RECORD_OVERHEAD,
  RECORD_PREFIX_SIZE,
  SEGMENT_HEADER_SIZE,
} from "./record-codec.ts";

/**
 * Reading a segment file from start to end without acting on it: recovery decides what to keep,
 * the inspector prints it.
 *
 * A problem is "torn" when it looks like a write that never finished: the file ends inside a
 * record, the rest of the file is zeros or junk with no valid record anywhere after it, or a header
 * that was cut short or never written with nothing sound after it. It is "corrupt" when bytes that
 * were once whole are wrong: a damaged record (its length field included) with a sound record of a
 * later index somewhere after it, a header that does not check out or is all zeros before sound
 * records, a sound record out of sequence. A torn write only cuts the end of what was written, so a
 * sound record beyond the damage was written before it, and the damage hit bytes written earlier,
 * which may have been fsynced and acknowledged. Only the newest segment may be torn; anywhere else
 * both mean corruption.
 */
export interface SegmentProblem {
  kind: "torn" | "corrupt";
  /** Byte offset of the first bad byte range (a record's start, or 0 for the header). */
  offset: number;
  /** The log index the bad record should have held. */
  index: number;
  reason: string;
}

export interface ScannedSegment {
  name: string;
  path: string;
  /** The first index the file name declares. */
  firstIndex: number;
  size: number;
  /** Term of the entry before the segment's first, from the header (0 when the header is bad). */
  prevTerm: number;
  /** Terms and record positions of the sound records, in index order from firstIndex. */
  terms: number[];
  positions: number[];
  /** Where the sound part ends: after the last sound record (0 when the header is bad). */
  soundEnd: number;
  /**
   * For corruption: the highest index the file may have held beyond its sound part, from the sound records found
   * after the damage, or from the file's size when a bad header leaves the rest unaccounted for. The node may have
   * acknowledged entries that far, which a repair must not forget.
   */
  highestBeyond?: number;
  problem?: SegmentProblem;
}

/** Segment files in a log folder, ordered by first index, and any other names found there. */
export function listSegments(
  fs: Fs,
  logDir: string,
): { segments: { name: string; firstIndex: number }[]; strays: string[] } {
  const segments: { name: string; firstIndex: number }[] = [];
  const strays: string[] = [];
  for (const name of fs.readdir(logDir)) {
    const firstIndex = parseSegmentFileName(name);
    if (firstIndex === undefined) strays.push(name);
    else segments.push({ name, firstIndex });
  }
  segments.sort((a, b) => a.firstIndex - b.firstIndex);
  return { segments, strays: strays.sort() };
}

const WINDOW = 1 << 20;

/** Sequential reads through a fixed window, so scanning a large segment needs little memory. */
class FileWindow {
  private buf = new Uint8Array(0);
  private start = 0;

  constructor(
    private readonly fs: Fs,
    private readonly fd: number,
    readonly size: number,
  ) {}

  /** Up to `length` bytes at `position` (fewer at the end of the file); valid until the next call. */
  at(position: number, length: number): Uint8Array {
    const n = Math.max(0, Math.min(length, this.size - position));
    if (position < this.start || position + n > this.start + this.buf.length) {
      this.buf = new Uint8Array(Math.min(Math.max(n, WINDOW), this.size - position));
      this.start = position;
      this.buf = this.buf.subarray(0, this.fs.read(this.fd, this.buf, position));
    }
    return this.buf.subarray(position - this.start, position - this.start + n);
  }

  /** The big-endian u32 at `position`, or undefined past the end of the file. */
  u32(position: number): number | undefined {
    const b = this.at(position, 4);
    return b.length < 4
      ? undefined
      : (b[0] as number) * 2 ** 24 + ((b[1] as number) << 16) + ((b[2] as number) << 8) + (b[3] as number);
  }

  allZeroFrom(position: number): boolean {
    for (let p = position; p < this.size; p += WINDOW) {
      if (this.at(p, WINDOW).some((b) => b !== 0)) return false;
    }
    return true;
  }
}

export function scanSegment(fs: Fs, logDir: string, name: string, firstIndex: number): ScannedSegment {
  const path = join(logDir, name);
  const fd = fs.open(path, "r");
  try {
    const win = new FileWindow(fs, fd, fs.size(fd));
    const result: ScannedSegment = {
      name,
      path,
      firstIndex,
      size: win.size,
      prevTerm: 0,
      terms: [],
      positions: [],
      soundEnd: 0,
    };
    const header = checkHeader(win, firstIndex);
    if (!header.ok) {
      const beyond = highestSoundFrom(win, SEGMENT_HEADER_SIZE, firstIndex);
      const problem = { ...header.problem, index: firstIndex };
      if (problem.kind === "torn" && beyond.highest !== undefined) {
        problem.kind = "corrupt";
        problem.reason = `segment header is all zeros, followed by sound records up to index ${beyond.highest}`;
      }
      if (problem.kind === "corrupt") {
        // Without a header nothing says where the records were meant to end: when they are not all sound, the
        // file may have held as many as its size allows.
        const bySize = firstIndex - 1 + Math.floor((win.size - SEGMENT_HEADER_SIZE) / RECORD_OVERHEAD);
        result.highestBeyond = beyond.clean ? beyond.highest : Math.max(beyond.highest ?? 0, bySize);
      }
      result.problem = problem;
      return result;
    }
    result.prevTerm = header.prevTerm;
    scanRecords(win, result);
    return result;
  } finally {
    fs.close(fd);
  }
}

function checkHeader(
  win: FileWindow,
  firstIndex: number,
): { ok: true; prevTerm: number } | { ok: false; problem: Omit<SegmentProblem, "index"> } {
  const bytes = win.at(0, SEGMENT_HEADER_SIZE);
  if (bytes.length < SEGMENT_HEADER_SIZE || bytes.every((b) => b === 0)) {
    return { ok: false, problem: { kind: "torn", offset: 0, reason: "segment header never completely written" } };
  }
  const h: HeaderDecode = decodeSegmentHeader(bytes);
  if (!h.ok) return { ok: false, problem: { kind: "corrupt", offset: 0, reason: h.problem } };
  if (h.firstIndex !== firstIndex) {
    return {
      ok: false,
      problem: {
        kind: "corrupt",
        offset: 0,
        reason: `header says first index ${h.firstIndex}, file name says ${firstIndex}`,
      },
    };
  }
  return { ok: true, prevTerm: h.prevTerm };
}

function scanRecords(win: FileWindow, out: ScannedSegment): void {
  let pos = SEGMENT_HEADER_SIZE;
  let index = out.firstIndex;
  let lastTerm = out.prevTerm;
  out.soundEnd = pos;
  while (pos < win.size) {
    const r = readRecord(win, pos);
    if (!r.ok) {
      const beyond = highestSoundFrom(win, pos + 1, index + 1);
      if (beyond.highest !== undefined) out.highestBeyond = beyond.highest;
      const sound = beyond.highest !== undefined;
      out.problem = {
        kind: sound ? "corrupt" : "torn",
        offset: pos,
        index,
        reason: sound ? `${r.problem}, followed by sound records up to index ${beyond.highest}` : r.problem,
      };
      return;
    }
    const { record } = r;
    if (record.index !== index || record.term < lastTerm) {
      out.problem = {
        kind: "corrupt",
        offset: pos,
        index,
        reason: `sound record out of sequence (index ${record.index} term ${record.term} after index ${index - 1} term ${lastTerm})`,
      };
      return;
    }
    out.terms.push(record.term);
    out.positions.push(pos);
    lastTerm = record.term;
    index++;
    pos += r.size;
    out.soundEnd = pos;
  }
}

type ReadResult =
  | { ok: true; record: { index: number; term: number }; size: number }
  /** `next`: where the following record would start, when the length field is plausible. */
  | { ok: false; problem: string; next?: number };

function readRecord(win: FileWindow, pos: number): ReadResult {
  const prefix = win.at(pos, RECORD_PREFIX_SIZE);
  if (prefix.length < RECORD_PREFIX_SIZE) return { ok: false, problem: `record prefix cut short at end of file` };
  const length = new DataView(prefix.buffer, prefix.byteOffset, 4).getUint32(0);
  if (length < PAYLOAD_HEADER_SIZE || length > MAX_PAYLOAD_SIZE) {
    return {
      ok: false,
      problem: win.allZeroFrom(pos) ? "zeros to the end of file" : `impossible record length ${length}`,
    };
  }
  const size = RECORD_PREFIX_SIZE + length;
  const d = decodeRecordAt(win.at(pos, size), 0);
  if (!d.ok) return { ok: false, problem: d.problem, next: d.need === undefined ? pos + size : undefined };
  return { ok: true, record: d.record, size };
}

/**
 * Looks at every byte position from `from` on for sound records of index `minIndex` or later (a record is sound when
 * its CRC, which covers its length, checks out): `highest` is the highest index found, `clean` whether the sound runs
 * found cover the rest of the file with nothing between them but a zero tail. Only run once damage is found.
 */
function highestSoundFrom(win: FileWindow, from: number, minIndex: number): { highest?: number; clean: boolean } {
  let highest: number | undefined;
  let clean = true;
  let pos = from;
  while (pos + RECORD_OVERHEAD <= win.size) {
    const r = soundRecordAt(win, pos, highest === undefined ? minIndex : highest + 1);
    if (r === undefined) {
      if (win.allZeroFrom(pos)) break;
      clean = false;
      pos++;
      continue;
    }
    highest = r.index;
    pos += r.size;
  }
  return highest === undefined ? { clean: false } : { highest, clean };
}

/** The sound record at `pos` if its index is at least `minIndex`; cheap checks first, the CRC last. */
function soundRecordAt(win: FileWindow, pos: number, minIndex: number): { index: number; size: number } | undefined {
  const length = win.u32(pos);
  if (length === undefined || length < PAYLOAD_HEADER_SIZE || length > MAX_PAYLOAD_SIZE) return undefined;
  const size = RECORD_PREFIX_SIZE + length;
  if (pos + size > win.size) return undefined;
  // index u64 at pos + 8: its high word is below 2^21 (indexes are below 2^53), its value at least minIndex
  const high = win.u32(pos + RECORD_PREFIX_SIZE) as number;
  const low = win.u32(pos + RECORD_PREFIX_SIZE + 4) as number;
  if (high >= 1 << 21 || high * 2 ** 32 + low < minIndex) return undefined;
  const r = readRecord(win, pos);
  return r.ok ? { index: r.record.index, size: r.size } : undefined;
}
