import { join } from "node:path";
import type { Fs } from "./fs.ts";
import { segmentFileName } from "./layout.ts";
import {
  encodeRecordInto,
  encodeSegmentHeader,
  type RecordFields,
  recordSize,
  SEGMENT_HEADER_SIZE,
  viewOf,
} from "./record-codec.ts";
import { TailMirror } from "./tail-mirror.ts";

/**
 * The write buffer kept from one write to the next, and the most one write takes (unless one record is larger): the
 * records of a turn go to the file in writes of up to this much. The buffer's pages stay resident once written, so
 * with 8 MiB kept a broker's memory at rest grew, turn after turn, to the largest turn it had written (issue 19's
 * soak); a batch is at most about 1 MiB, so 2 MiB holds one whole and a write syscall per 2 MiB costs nothing.
 */
const KEPT_WRITE_BYTES = 2 << 20;

export interface Segment {
  firstIndex: number;
  path: string;
  fd: number;
  /** Bytes written (the end of its last record). */
  size: number;
  /** Bytes known to be on stable storage. */
  durableSize: number;
}

/**
 * The open segment files of a log, oldest first, and whether the log folder holds changes (files
 * created or removed) that are not yet durable. Folder changes are counted, so that a folder sync
 * still running does not pass for one that has finished.
 *
 * Records appended during one event-loop turn reach the file in one write at the end of the turn
 * (or earlier, when something needs them there): with many writers, one write per append made the
 * system calls the largest cost of an append.
 */
export class SegmentFiles {
  list: Segment[] = [];
  private dirChanges = 0;
  private dirDurable = 0;
  /** Removed while a flush may still be syncing them; closed once it is over. */
  private retired: Segment[] = [];
  /** The newest segment's records appended at `at` and not yet written: `pendingLength` bytes of `pendingBytes`. */
  private pending: { seg: Segment; at: number } | undefined;
  /**
   * Reused from write to write (the write is synchronous, the mirror keeps a copy): records were encoded into a new
   * buffer for every append, and filling fresh memory cost several times the copy itself.
   */
  private pendingBytes = new Uint8Array(0);
  private pendingLength = 0;
  private readonly mirror: TailMirror;

  constructor(
    private readonly fs: Fs,
    readonly logDir: string,
    mirrorBytes: number,
    /** A failed write of the pending records: the store is failed whoever asked for the write. */
    private readonly onWriteError: (e: unknown) => void,
  ) {
    this.mirror = new TailMirror(mirrorBytes);
  }

  /** Appends the records of entries[from, to) at the segment's end (its size grows at once; the write may come later this turn). */
  appendRecords(seg: Segment, entries: readonly RecordFields[], from: number, to: number): void {
    if (this.pending !== undefined && this.pending.seg !== seg) this.writePending();
    let bytes = 0;
    for (let j = from; j < to; j++) bytes += recordSize((entries[j] as RecordFields).data.length);
    if (bytes > KEPT_WRITE_BYTES && to - from > 1) {
      const mid = (from + to) >>> 1;
      this.appendRecords(seg, entries, from, mid);
      this.appendRecords(seg, entries, mid, to);
      return;
    }
    // what is pending goes to the file first, rather than growing the buffer past what is kept
    if (this.pendingLength > 0 && this.pendingLength + bytes > KEPT_WRITE_BYTES) this.writePending();
    if (this.pending === undefined) {
      this.pending = { seg, at: seg.size };
      this.pendingLength = 0;
      queueMicrotask(() => {
        try {
          this.writePending();
        } catch {
          // writePending has failed the store: the next append or sync throws to a caller
        }
      });
    }
    const start = this.pendingLength;
    if (start + bytes > this.pendingBytes.length) {
      const grown = new Uint8Array(
        Math.max(start + bytes, Math.min(KEPT_WRITE_BYTES, Math.max(2 * this.pendingBytes.length, 64 * 1024))),
      );
      grown.set(this.pendingBytes.subarray(0, start));
      this.pendingBytes = grown;
    }
    const out = this.pendingBytes;
    const view = viewOf(out);
    let at = start;
    for (let j = from; j < to; j++) at += encodeRecordInto(out, at, entries[j] as RecordFields, view);
    this.pendingLength = at;
    this.mirror.append(seg, seg.size, out.subarray(start, at));
    seg.size += bytes;
  }

  /** The size of the write buffer kept (at most KEPT_WRITE_BYTES once a write is done), for /metrics. */
  get writeBufferBytes(): number {
    return this.pendingBytes.length;
  }

  /** The tail mirror's use, for /metrics. */
  get mirrorSize(): { bytes: number; capacity: number } {
    return this.mirror.size;
  }

  /** Puts appended bytes into the file now. */
  writePending(): void {
    const p = this.pending;
    if (p === undefined) return;
    this.pending = undefined;
    const length = this.pendingLength;
    this.pendingLength = 0;
    try {
      this.fs.write(p.seg.fd, this.pendingBytes.subarray(0, length), p.at);
    } catch (e) {
      this.cutBack(p.seg.fd, p.at);
      // the store fails whoever called: a read or an append that wrote the pending records first throws to a caller
      // that does not fail the store, and the next sync would count the records cut back as durable
      this.onWriteError(e);
      throw e;
    }
    // a burst does not pin a large buffer
    if (this.pendingBytes.length > KEPT_WRITE_BYTES) this.pendingBytes = new Uint8Array(0);
  }

  get newest(): Segment | undefined {
    return this.list.at(-1);
  }

  /** Opens a recovered segment file. */
  adopt(firstIndex: number, path: string): void {
    const fd = this.fs.open(path, "r+");
    const size = this.fs.size(fd);
    this.list.push({ firstIndex, path, fd, size, durableSize: size });
  }

  /** Position in the list of the segment that holds `index` (which the log must hold). */
  positionOf(index: number): number {
    let lo = 0;
    let hi = this.list.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.list[mid] as Segment).firstIndex <= index) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  create(firstIndex: number, prevTerm: number): Segment {
    const path = join(this.logDir, segmentFileName(firstIndex));
    const fd = this.fs.open(path, "wx");
    try {
      this.fs.write(fd, encodeSegmentHeader(firstIndex, prevTerm), 0);
    } catch (e) {
      // a full disk: no file with half a header is left for recovery to judge
      this.fs.close(fd);
      this.fs.unlink(path);
      throw e;
    }
    const seg: Segment = { firstIndex, path, fd, size: SEGMENT_HEADER_SIZE, durableSize: 0 };
    this.list.push(seg);
    this.dirChanges++;
    return seg;
  }

  /** Makes a segment and the folder entries durable now, blocking. */
  syncNow(seg: Segment): void {
    this.writePending();
    if (seg.size > seg.durableSize) this.fs.datasyncSync(seg.fd);
    this.syncDirNowIfDirty();
    seg.durableSize = seg.size;
  }

  syncDirNowIfDirty(): void {
    if (this.dirDurable === this.dirChanges) return;
    this.fs.syncDirSync(this.logDir);
    this.dirDurable = this.dirChanges;
  }

  /** Syncs the folder if it has changes not known durable; resolves when they are. */
  async syncDir(): Promise<void> {
    const upTo = this.dirChanges;
    if (this.dirDurable >= upTo) return;
    await this.fs.syncDir(this.logDir);
    this.dirDurable = Math.max(this.dirDurable, upTo);
  }

  /** Removes the newest segment (when `newest`) or the oldest; bytes not yet written to it are dropped. */
  remove(which: "newest" | "oldest", flushRunning: boolean): Segment {
    const seg = (which === "newest" ? this.list.pop() : this.list.shift()) as Segment;
    if (this.pending?.seg === seg) {
      this.pending = undefined;
      this.pendingLength = 0;
    }
    this.mirror.forget(seg);
    this.fs.unlink(seg.path);
    this.dirChanges++;
    if (flushRunning) this.retired.push(seg);
    else this.fs.close(seg.fd);
    return seg;
  }

  /** Bytes [from, to) of a segment, from the tail mirror when it has them, else from the file. */
  read(seg: Segment, from: number, to: number): Uint8Array {
    const mirrored = this.mirror.read(seg, from, to);
    if (mirrored !== undefined) return mirrored;
    this.writePending();
    const bytes = new Uint8Array(to - from);
    return bytes.subarray(0, this.fs.read(seg.fd, bytes, from));
  }

  /** Cuts a segment's file at `length`, durably. */
  truncateNow(seg: Segment, length: number): void {
    this.writePending();
    this.fs.truncate(seg.fd, length);
    this.fs.datasyncSync(seg.fd);
    this.syncDirNowIfDirty();
    seg.size = seg.durableSize = length;
    this.mirror.truncate(seg, length);
  }

  /**
   * After a failed write (a full disk can take part of it): the file goes back to its length before the write, so
   * that it holds whole records only. The store is failed by then and stops; this is best effort, and recovery cuts a
   * torn tail anyway.
   */
  private cutBack(fd: number, length: number): void {
    try {
      this.fs.truncate(fd, length);
    } catch {
      // the error that matters is the write's, which the caller rethrows
    }
  }

  /**
   * After a failed write or sync (log-writes.ts): the segment goes back to the bytes last synced, and what was appended
   * to it and not yet written is dropped.
   */
  cutToDurable(seg: Segment): void {
    if (this.pending?.seg === seg) {
      this.pending = undefined;
      this.pendingLength = 0;
    }
    this.fs.truncate(seg.fd, seg.durableSize);
    seg.size = seg.durableSize;
    this.mirror.truncate(seg, seg.durableSize);
  }

  closeRetired(): void {
    for (const s of this.retired.splice(0)) this.fs.close(s.fd);
  }

  /** Closes every file; bytes not yet written are dropped (the store failed) or were written by the caller. */
  closeAll(): void {
    this.pending = undefined;
    this.pendingLength = 0;
    this.closeRetired();
    for (const s of this.list.splice(0)) this.fs.close(s.fd);
  }
}
