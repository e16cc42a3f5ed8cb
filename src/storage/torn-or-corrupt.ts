import type { FileWindow } from "./file-window.ts";
import {
  decodeRecordAt,
  MAX_PAYLOAD_SIZE,
  PAYLOAD_HEADER_SIZE,
  RECORD_OVERHEAD,
  RECORD_PREFIX_SIZE,
} from "./record-codec.ts";

/** Disks write in sectors of at least this size; a sector a power loss kept from being written reads as zeros. */
const SECTOR_SIZE = 512;

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
export function judgeBadRecord(
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
