import { posix } from "node:path";
import type { Prng } from "../util/prng.ts";
import type { Fs, OpenMode } from "./fs.ts";
import { SimDirectory, SimInode } from "./sim-file.ts";

export interface SimFsOptions {
  /**
   * "immediate": datasync and syncDir take effect when called and resolve at once.
   * "manual": they take effect and resolve only when the simulator calls completeSyncs(), so a
   * crash can fall between a write and the end of its fdatasync. The synchronous forms always
   * take effect at once.
   */
  syncMode?: "immediate" | "manual";
}

export interface CrashOptions {
  /**
   * Without a PRNG every byte and folder change not yet synced is lost. With one, each file keeps
   * a random prefix of its unsynced writes, the last of them torn at a random byte, and each folder
   * a random prefix of its unsynced changes (a journal keeps them in order).
   */
  prng?: Prng;
  /**
   * With a PRNG: the chance that each 512-byte sector of the torn write never reached the disk (it reads as zeros, or
   * as what the disk held there), as a real disk may leave it; the default 0 keeps a clean prefix.
   */
  lostSectors?: number;
}

interface OpenFile {
  inode: SimInode;
  writable: boolean;
}

interface PendingSync {
  apply: () => void;
  resolve: () => void;
}

function fsError(code: string, syscall: string, path: string): Error {
  return Object.assign(new Error(`${code}: ${syscall} '${path}'`), { code, syscall, path });
}

/**
 * An in-memory file system that keeps each file's synced bytes apart from the unsynced ones and
 * each folder's synced entries apart from the unsynced ones, so that crash() can do what a power
 * loss does: lose what was not synced, tear the last write, keep a rename only once its folder was
 * synced. Folders themselves are durable as soon as they are made.
 */
export class SimFs implements Fs {
  private readonly dirs = new Map<string, SimDirectory>([["/", new SimDirectory()]]);
  private readonly fds = new Map<number, OpenFile>();
  /** The descriptor holding each locked file; a lock whose descriptor is closed (or lost in a crash) is free. */
  private readonly locks = new Map<SimInode, number>();
  private nextFd = 3;
  private currentPid = 1000;
  private readonly syncMode: "immediate" | "manual";
  private queued: PendingSync[] = [];
  private queueWaiters: (() => void)[] = [];
  /** How many datasync and syncDir calls (of either form) were made, for group-commit tests. */
  stats = { datasyncs: 0, dirSyncs: 0 };
  /**
   * A full disk: a write that would make the files (those named in a folder or still open) hold more than this many
   * bytes writes what fits and fails with ENOSPC, as a real file system does. Undefined: no limit. Change it at any
   * time (an operator freeing space).
   */
  capacityBytes: number | undefined;

  constructor(options: SimFsOptions = {}) {
    this.syncMode = options.syncMode ?? "immediate";
  }

  open(path: string, mode: OpenMode): number {
    const { dir, name, full } = this.locate(path, "open");
    let inode = dir.live.get(name);
    if (mode === "wx" && inode) throw fsError("EEXIST", "open", full);
    if ((mode === "r" || mode === "r+") && !inode) throw fsError("ENOENT", "open", full);
    if (!inode) {
      inode = new SimInode();
      dir.change([[name, inode]]);
    } else if (mode === "w") {
      inode.record({ kind: "truncate", length: 0 });
    }
    const fd = this.nextFd++;
    this.fds.set(fd, { inode, writable: mode !== "r" });
    return fd;
  }

  close(fd: number): void {
    this.file(fd, "close");
    this.fds.delete(fd);
  }

  read(fd: number, buf: Uint8Array, position: number): number {
    const bytes = this.file(fd, "read").inode.live.view();
    const n = Math.max(0, Math.min(buf.length, bytes.length - position));
    buf.set(bytes.subarray(position, position + n));
    return n;
  }

  write(fd: number, data: Uint8Array, position: number): void {
    const f = this.file(fd, "write");
    if (!f.writable) throw fsError("EBADF", "write", `fd ${fd}`);
    const room = this.roomFor(f.inode, position, data.length);
    if (room < data.length) {
      if (room > 0) f.inode.record({ kind: "write", position, bytes: data.slice(0, room) });
      throw fsError("ENOSPC", "write", `fd ${fd}`);
    }
    f.inode.record({ kind: "write", position, bytes: data.slice() });
  }

  /** Bytes held by every file named in a folder or still open. */
  usedBytes(): number {
    const inodes = new Set<SimInode>();
    for (const d of this.dirs.values()) for (const inode of d.live.values()) inodes.add(inode);
    for (const f of this.fds.values()) inodes.add(f.inode);
    let used = 0;
    for (const inode of inodes) used += inode.live.length;
    return used;
  }

  /** How many of `length` bytes written at `position` fit under capacityBytes. */
  private roomFor(inode: SimInode, position: number, length: number): number {
    if (this.capacityBytes === undefined) return length;
    const free = Math.max(0, this.capacityBytes - this.usedBytes());
    // bytes that overwrite the file's present content take no new space
    return Math.min(length, Math.max(0, inode.live.length + free - position));
  }

  writeParts(fd: number, parts: readonly Uint8Array[], position: number): Promise<void> {
    for (const p of parts) {
      this.write(fd, p, position);
      position += p.length;
    }
    return Promise.resolve();
  }

  size(fd: number): number {
    return this.file(fd, "fstat").inode.live.length;
  }

  truncate(fd: number, length: number): void {
    const f = this.file(fd, "ftruncate");
    if (!f.writable) throw fsError("EINVAL", "ftruncate", `fd ${fd}`);
    f.inode.record({ kind: "truncate", length });
  }

  datasync(fd: number): Promise<void> {
    const inode = this.file(fd, "fdatasync").inode;
    const seq = inode.opSeq;
    return this.schedule(() => inode.syncTo(seq), "datasyncs");
  }

  datasyncSync(fd: number): void {
    const inode = this.file(fd, "fdatasync").inode;
    this.stats.datasyncs++;
    inode.syncTo(inode.opSeq);
  }

  syncDir(dir: string): Promise<void> {
    const d = this.dir(dir, "fsync");
    const seq = d.opSeq;
    return this.schedule(() => d.syncTo(seq), "dirSyncs");
  }

  syncDirSync(dir: string): void {
    const d = this.dir(dir, "fsync");
    this.stats.dirSyncs++;
    d.syncTo(d.opSeq);
  }

  rename(from: string, to: string): void {
    const src = this.locate(from, "rename");
    const dst = this.locate(to, "rename");
    const inode = src.dir.live.get(src.name);
    if (!inode) throw fsError("ENOENT", "rename", src.full);
    if (src.dir === dst.dir) {
      src.dir.change([
        [src.name, undefined],
        [dst.name, inode],
      ]);
    } else {
      src.dir.change([[src.name, undefined]]);
      dst.dir.change([[dst.name, inode]]);
    }
  }

  unlink(path: string): void {
    const { dir, name, full } = this.locate(path, "unlink");
    if (!dir.live.has(name)) throw fsError("ENOENT", "unlink", full);
    dir.change([[name, undefined]]);
  }

  readdir(dir: string): string[] {
    const full = posix.resolve("/", dir);
    const names = [...this.dir(full, "scandir").live.keys()];
    for (const d of this.dirs.keys()) if (d !== full && posix.dirname(d) === full) names.push(posix.basename(d));
    return names;
  }

  mkdir(dir: string): void {
    const full = posix.resolve("/", dir);
    if (full === "/" || this.dirs.has(full)) return;
    this.mkdir(posix.dirname(full));
    this.dirs.set(full, new SimDirectory());
  }

  tryLock(fd: number): boolean {
    const inode = this.file(fd, "flock").inode;
    const holder = this.locks.get(inode);
    if (holder !== undefined && holder !== fd && this.fds.has(holder)) return false;
    this.locks.set(inode, fd);
    return true;
  }

  pid(): number {
    return this.currentPid;
  }

  /** How many datasync/syncDir calls wait for completeSyncs() (manual mode). */
  pendingSyncs(): number {
    return this.queued.length;
  }

  /** Resolves as soon as at least one sync waits for completeSyncs() (manual mode). */
  syncQueued(): Promise<void> {
    if (this.queued.length > 0) return Promise.resolve();
    return new Promise((resolve) => this.queueWaiters.push(resolve));
  }

  /** Manual mode: makes the oldest `count` waiting syncs take effect and resolves them. */
  completeSyncs(count = this.queued.length): void {
    const done = this.queued.splice(0, count);
    for (const s of done) {
      s.apply();
      s.resolve();
    }
  }

  /**
   * Power loss: every open file descriptor becomes invalid, syncs still waiting never complete,
   * folders go back to their synced entries and files to their synced bytes (see CrashOptions).
   * The process that held the files is gone: its pid is no longer alive.
   */
  crash(options: CrashOptions = {}): void {
    this.fds.clear();
    this.queued = [];
    this.currentPid++;
    const { prng } = options;
    const survivors = new Set<SimInode>();
    for (const d of this.dirs.values()) {
      d.crash(prng ? prng.int(0, d.pendingCount()) : 0);
      for (const inode of d.durable.values()) survivors.add(inode);
    }
    for (const inode of survivors) {
      const keep = prng ? prng.int(0, inode.pending.length) : 0;
      const next = inode.pending[keep];
      const torn = prng && next?.kind === "write" ? prng.int(0, next.bytes.length) : 0;
      const lost = options.lostSectors;
      inode.crash(keep, torn, prng && lost ? () => prng.chance(lost) : undefined);
    }
  }

  /**
   * A process kill (kill -9, an OOM kill, a failed assertion), the machine still up: every open file descriptor
   * becomes invalid (so the process's locks are free), syncs still waiting never complete for it, and its pid is no
   * longer alive; but the page cache keeps every write and every folder entry, synced or not. A power loss later
   * (crash) may still lose what nobody synced.
   */
  kill(): void {
    this.fds.clear();
    this.queued = [];
    this.currentPid++;
  }

  /** Bit rot: flips one bit of a file both in the page cache and on the disk. */
  flipBit(path: string, offset: number, bit = 0): void {
    const inode = this.inode(path);
    inode.live.flipBit(offset, bit);
    inode.durable.flipBit(offset, bit);
  }

  /** The file's bytes as a reader sees them now. */
  liveBytes(path: string): Uint8Array {
    return this.inode(path).live.view().slice();
  }

  /** How many bytes of the file would survive a power loss now. */
  durableLength(path: string): number {
    return this.inode(path).durable.length;
  }

  private inode(path: string): SimInode {
    const { dir, name, full } = this.locate(path, "stat");
    const inode = dir.live.get(name);
    if (!inode) throw fsError("ENOENT", "stat", full);
    return inode;
  }

  private schedule(apply: () => void, counter: "datasyncs" | "dirSyncs"): Promise<void> {
    this.stats[counter]++;
    if (this.syncMode === "immediate") {
      apply();
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.queued.push({ apply, resolve });
      for (const wake of this.queueWaiters.splice(0)) wake();
    });
  }

  private file(fd: number, syscall: string): OpenFile {
    const f = this.fds.get(fd);
    if (!f) throw fsError("EBADF", syscall, `fd ${fd}`);
    return f;
  }

  private dir(path: string, syscall: string): SimDirectory {
    const full = posix.resolve("/", path);
    const d = this.dirs.get(full);
    if (!d) throw fsError("ENOENT", syscall, full);
    return d;
  }

  private locate(path: string, syscall: string): { dir: SimDirectory; name: string; full: string } {
    const full = posix.resolve("/", path);
    return { dir: this.dir(posix.dirname(full), syscall), name: posix.basename(full), full };
  }
}
