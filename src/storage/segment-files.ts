import { join } from "node:path";
import type { Fs } from "./fs.ts";
import { segmentFileName } from "./layout.ts";
import { encodeSegmentHeader, SEGMENT_HEADER_SIZE } from "./record-codec.ts";

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
 */
export class SegmentFiles {
  list: Segment[] = [];
  private dirChanges = 0;
  private dirDurable = 0;
  /** Removed while a flush may still be syncing them; closed once it is over. */
  private retired: Segment[] = [];

  constructor(
    private readonly fs: Fs,
    readonly logDir: string,
  ) {}

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
    this.fs.write(fd, encodeSegmentHeader(firstIndex, prevTerm), 0);
    const seg: Segment = { firstIndex, path, fd, size: SEGMENT_HEADER_SIZE, durableSize: 0 };
    this.list.push(seg);
    this.dirChanges++;
    return seg;
  }

  /** Makes a segment and the folder entries durable now, blocking. */
  syncNow(seg: Segment): void {
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

  /** Removes the newest segment (when `newest`) or the oldest. */
  remove(which: "newest" | "oldest", flushRunning: boolean): Segment {
    const seg = (which === "newest" ? this.list.pop() : this.list.shift()) as Segment;
    this.fs.unlink(seg.path);
    this.dirChanges++;
    if (flushRunning) this.retired.push(seg);
    else this.fs.close(seg.fd);
    return seg;
  }

  closeRetired(): void {
    for (const s of this.retired.splice(0)) this.fs.close(s.fd);
  }

  closeAll(): void {
    this.closeRetired();
    for (const s of this.list.splice(0)) this.fs.close(s.fd);
  }
}
