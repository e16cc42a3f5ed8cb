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

/** Disks write in sectors of at least this size; a sector a power loss kept from being written reads as zeros. */
export const SECTOR_SIZE = 512;

/** A record's length field, the first 4 bytes of its prefix: never zero as written (a payload is at least 17 bytes). */
const LENGTH_FIELD_SIZE = 4;

/**
 * Whether the bad record at `pos` (expected to hold `index`) is a write that never finished or damage to bytes that
 * were whole (docs/storage.md, "Torn write or corruption"). A write that was not fsynced when the power went can leave
 * the file ending inside it, zeros (or leftover bytes) past its last whole record, or sectors of it never written,
 * which read as zeros; it cannot leave a whole record whose checksum fails with every sector of it written, nor a
 * record whose checksum holds once its length field is read differently unless the field's bytes that differ lay in a
 * sector never written. `next` is where the following record starts when the damaged record's extent is known.
 */
function judgeBadRecord(
  win: FileWindow,
  pos: number,
  index: number,
  lastTerm: number,
  problem: string,
): { kind: "torn"; reason: string } | { kind: "corrupt"; reason: string; next: number } {
  const rest = win.size - pos;
  if (rest < RECORD_PREFIX_SIZE || win.allZeroFrom(pos)) return { kind: "torn", reason: problem };
  const length = win.u32(pos) as number;
  const real = damagedLength(win, pos, index, lastTerm);
  if (real !== undefined) {
    if (firstSectorLost(win, pos, length, real))
      return {
        kind: "torn",
        reason: `${problem}, zeros from byte ${pos} to its sector's end (a sector never written)`,
      };
    return {
      kind: "corrupt",
      reason: `record length ${length} damaged (the record's checksum holds with length ${real})`,
      next: pos + RECORD_PREFIX_SIZE + real,
    };
  }
  if (length < PAYLOAD_HEADER_SIZE || length > MAX_PAYLOAD_SIZE) return { kind: "torn", reason: problem };
  const size = RECORD_PREFIX_SIZE + length;
  if (size > rest) return { kind: "torn", reason: problem };
  if (problem !== "record checksum mismatch") {
    // The checksum holds but the fields do not: written wrong, not torn.
    return { kind: "corrupt", reason: problem, next: pos + size };
  }
  const unwritten = unwrittenSector(win, pos, size);
  if (unwritten !== undefined)
    return { kind: "torn", reason: `${problem}, zeros from byte ${unwritten} (a sector never written)` };
  return {
    kind: "corrupt",
    reason: `${problem} in a whole record with every sector written (damage, not a torn write)`,
    next: pos + size,
  };
}

/**
 * Whether the length field of the record at `pos` reads `stored` instead of `real` (with which its checksum holds)
 * because the sector holding the record's start was never written: the record's part of that sector reads zeros, and
 * the two lengths differ only in bytes of the field that lie in that part (so those bytes were not zeros as written).
 * A record whose length field fills the last bytes of a sector has the field alone there, and its checksum lies in the
 * next sector (the simulator found it). Not when one bit tells them apart: a flipped bit in fsynced bytes leaves the
 * same file (the one set bit of a length of 32, say), and damage must never be cut as a torn write, while a start
 * refused as corrupt loses nothing.
 */
function firstSectorLost(win: FileWindow, pos: number, stored: number, real: number): boolean {
  const part = Math.min(SECTOR_SIZE - (pos % SECTOR_SIZE), win.size - pos);
  if (!win.at(pos, part).every((b) => b === 0)) return false;
  const diff = (stored ^ real) >>> 0;
  if ((diff & (diff - 1)) === 0) return false;
  const outside = part >= LENGTH_FIELD_SIZE ? 0 : 2 ** (8 * (LENGTH_FIELD_SIZE - part)) - 1;
  return (diff & outside) === 0;
}

/**
 * The first byte of a sector-aligned run of zeros inside the record at [pos, pos + size) that a sector never written
 * would leave: from the record's part of a sector to the end of that sector (or of the file) every byte is zero. Bytes
 * of the sector before the record may have been fsynced earlier, so they are not asked to be zero (etcd's WAL decoder,
 * isTornEntry, asks the same of a record's part of each sector). Zeros prove nothing where the record as written holds
 * zeros: a first part shorter than the length field (its high bytes, zero in any record under 256 bytes, so a record
 * starting in the last three bytes of a sector would have had any flipped bit cut as torn), or a normal entry's kind
 * byte alone at the end of the file (an empty entry, as a new leader's first one).
 */
function unwrittenSector(win: FileWindow, pos: number, size: number): number | undefined {
  const end = pos + size;
  for (let s = pos - (pos % SECTOR_SIZE); s < end; s += SECTOR_SIZE) {
    const from = Math.max(s, pos);
    const to = Math.min(s + SECTOR_SIZE, win.size);
    if (from === pos && to - from < LENGTH_FIELD_SIZE) continue;
    if (from === pos + RECORD_OVERHEAD - 1 && to === from + 1) continue;
    if (win.at(from, to - from).every((b) => b === 0)) return from;
  }
  return undefined;
}

/**
 * The true payload length of the record at `pos` when its length field is what was damaged: a length for which the
 * record's checksum holds (the checksum covers the length field) and the record is the one expected there. Candidates:
 * the field with any one bit flipped back, the rest of the file, the start of a zero tail, and the start of every
 * sound record of index `index + 1` further on (cheap checks first: an exact index match is rare, so the checksum runs
 * a few times at most, not at every byte). A record written torn never passes: its checksum was computed over the
 * length it was written with and over bytes the file does not hold.
 */
function damagedLength(win: FileWindow, pos: number, index: number, lastTerm: number): number | undefined {
  const stored = win.u32(pos) as number;
  const rest = win.size - pos;
  const candidates = new Set<number>();
  for (let b = 0; b < 32; b++) candidates.add((stored ^ (2 ** b)) >>> 0);
  candidates.add(rest - RECORD_PREFIX_SIZE);
  const zeros = zeroTailStart(win, pos);
  if (zeros !== undefined) candidates.add(zeros - pos - RECORD_PREFIX_SIZE);
  for (let q = pos + RECORD_OVERHEAD; q + RECORD_OVERHEAD <= win.size; q++) {
    if (indexAt(win, q) === index + 1) candidates.add(q - pos - RECORD_PREFIX_SIZE);
  }
  for (const length of candidates) {
    if (length === stored || length < PAYLOAD_HEADER_SIZE || length > MAX_PAYLOAD_SIZE) continue;
    if (RECORD_PREFIX_SIZE + length > rest) continue;
    if (checksumHoldsWith(win, pos, length, index, lastTerm)) return length;
  }
  return undefined;
}

/** The index field of a record starting at `q`, when its length field is plausible; cheap, no checksum. */
function indexAt(win: FileWindow, q: number): number | undefined {
  const length = win.u32(q);
  if (length === undefined || length < PAYLOAD_HEADER_SIZE || length > MAX_PAYLOAD_SIZE) return undefined;
  const high = win.u32(q + RECORD_PREFIX_SIZE);
  const low = win.u32(q + RECORD_PREFIX_SIZE + 4);
  if (high === undefined || low === undefined || high >= 1 << 21) return undefined;
  return high * 2 ** 32 + low;
}

/** Where the zeros that end the file start, when they start after `pos` and are at least a record long. */
function zeroTailStart(win: FileWindow, pos: number): number | undefined {
  let start = win.size;
  while (start > pos && win.at(start - 1, 1)[0] === 0) start--;
  return win.size - start >= RECORD_OVERHEAD && start > pos ? start : undefined;
}

function checksumHoldsWith(win: FileWindow, pos: number, length: number, index: number, lastTerm: number): boolean {
  const bytes = win.at(pos, RECORD_PREFIX_SIZE + length).slice();
  new DataView(bytes.buffer).setUint32(0, length);
  const d = decodeRecordAt(bytes, 0);
  return d.ok && d.record.index === index && d.record.term >= lastTerm;
}

/**
 * The highest index a corrupt segment may have held, given that the damaged record held `index`: the sound records
 * that follow it in sequence from `next`, and when the file holds more than those (or the damaged record's extent is
 * unknown), as many records as the rest of the file could hold. The node may have acknowledged entries that far.
 */
function highestHeld(win: FileWindow, end: number, highest: number): number {
  return highest + Math.floor((win.size - end) / RECORD_OVERHEAD);
}

/**
 * The highest index a file may have held past a sound run, and its term when the run reaches the end of what was
 * written (no unreadable bytes after it); otherwise as many records as the rest of the file could hold, term unknown.
 */
function heldAfter(win: FileWindow, run: SoundRun): [number, number | undefined] {
  if (run.end >= win.size || win.allZeroFrom(run.end)) return [run.highest, run.highestTerm];
  return [highestHeld(win, run.end, run.highest), undefined];
}

function setBeyond(out: ScannedSegment, highest: number | undefined, term?: number): void {
  out.highestBeyond = highest;
  if (highest !== undefined && term !== undefined) out.highestBeyondTerm = term;
}

interface SoundRun {
  highest: number;
  /** The term of the record at `highest` (undefined when the run is empty). */
  highestTerm: number | undefined;
  end: number;
}

/** The sound records in sequence from `pos` (the first holding `index`): the last index found and where they end. */
function soundRun(win: FileWindow, pos: number, index: number): SoundRun {
  let at = pos;
  let next = index;
  let highestTerm: number | undefined;
  while (at < win.size) {
    const r = readRecord(win, at);
    if (!r.ok || r.record.index !== next) break;
    highestTerm = r.record.term;
    next++;
    at += r.size;
  }
  return { highest: next - 1, highestTerm, end: at };
}

type ReadResult = { ok: true; record: { index: number; term: number }; size: number } | { ok: false; problem: string };

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
  if (!d.ok) return { ok: false, problem: d.problem };
  return { ok: true, record: d.record, size };
}
