import { join } from "node:path";
import { FileWindow, heldAfter, highestHeld, readRecord, soundRun } from "./file-window.ts";
import type { Fs } from "./fs.ts";
import { parseSegmentFileName } from "./layout.ts";
import { decodeSegmentHeader, type HeaderDecode, SEGMENT_HEADER_SIZE } from "./record-codec.ts";
import { judgeBadRecord } from "./torn-or-corrupt.ts";

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
  /**
   * The term of the record at `highestBeyond` when it was read (the sound records after the damage run to the end of
   * what was written); absent when that index is only an estimate from the file's size. Terms never fall along a log,
   * so it bounds the term of every entry the file held (the vote floor of a repair, docs/storage.md).
   */
  highestBeyondTerm?: number;
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
      // Records start right after the header, so those that are sound follow one another from there.
      const run = soundRun(win, SEGMENT_HEADER_SIZE, firstIndex);
      const found = run.highest >= firstIndex ? run.highest : undefined;
      const problem = { ...header.problem, index: firstIndex };
      if (problem.kind === "torn" && found !== undefined) {
        problem.kind = "corrupt";
        problem.reason = `segment header is all zeros, followed by sound records up to index ${found}`;
      }
      if (problem.kind === "corrupt") {
        // Without a header nothing says where the records were meant to end: when they are not all sound, the
        // file may have held as many as its size allows.
        const clean = run.end >= win.size || win.allZeroFrom(run.end);
        if (clean) setBeyond(result, found, run.highestTerm);
        else setBeyond(result, highestHeld(win, run.end, run.highest));
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
      const verdict = judgeBadRecord(win, pos, index, lastTerm, r.problem);
      out.problem = { kind: verdict.kind, offset: pos, index, reason: verdict.reason };
      if (verdict.kind === "corrupt") {
        const run = soundRun(win, verdict.next, index + 1);
        setBeyond(out, ...heldAfter(win, run));
      }
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

function setBeyond(out: ScannedSegment, highest: number | undefined, term?: number): void {
  out.highestBeyond = highest;
  if (highest !== undefined && term !== undefined) out.highestBeyondTerm = term;
}
