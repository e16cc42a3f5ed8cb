import type { Fs } from "./fs.ts";
import {
  decodeRecordAt,
  MAX_PAYLOAD_SIZE,
  PAYLOAD_HEADER_SIZE,
  RECORD_OVERHEAD,
  RECORD_PREFIX_SIZE,
} from "./record-codec.ts";

/**
 * Reading a segment file's records through a window of fixed size, for the scan at start (segment-scan.ts) and the
 * judging of a bad record (torn-or-corrupt.ts): a large segment is read with little memory.
 */

const WINDOW = 1 << 20;

/** Sequential reads through a fixed window, so scanning a large segment needs little memory. */
export class FileWindow {
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

/**
 * The highest index a corrupt segment may have held, given that the damaged record held `index`: the sound records
 * that follow it in sequence from `next`, and when the file holds more than those (or the damaged record's extent is
 * unknown), as many records as the rest of the file could hold. The node may have acknowledged entries that far.
 */
export function highestHeld(win: FileWindow, end: number, highest: number): number {
  return highest + Math.floor((win.size - end) / RECORD_OVERHEAD);
}

/**
 * The highest index a file may have held past a sound run, and its term when the run reaches the end of what was
 * written (no unreadable bytes after it); otherwise as many records as the rest of the file could hold, term unknown.
 */
export function heldAfter(win: FileWindow, run: SoundRun): [number, number | undefined] {
  if (run.end >= win.size || win.allZeroFrom(run.end)) return [run.highest, run.highestTerm];
  return [highestHeld(win, run.end, run.highest), undefined];
}

export interface SoundRun {
  highest: number;
  /** The term of the record at `highest` (undefined when the run is empty). */
  highestTerm: number | undefined;
  end: number;
}

/** The sound records in sequence from `pos` (the first holding `index`): the last index found and where they end. */
export function soundRun(win: FileWindow, pos: number, index: number): SoundRun {
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

export type ReadResult =
  | { ok: true; record: { index: number; term: number }; size: number }
  | { ok: false; problem: string };

export function readRecord(win: FileWindow, pos: number): ReadResult {
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
