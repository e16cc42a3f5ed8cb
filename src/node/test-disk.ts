/**
 * A test-only disk of a chosen size, for the disk-full tests and the chaos disk-full fault where no small file system
 * can be mounted (a test not running as root): MQRAFT_TEST_DISK_FILE=F names a file holding the disk's size in bytes
 * and, optionally after a space, the bytes other processes take on it (decimal). The broker's file system then counts
 * the bytes of its data folder against the size less what others take, fails a write that does not fit with ENOSPC
 * after writing what fits (as a full file system does), and its free-space probe reports what is left of the size. The
 * test changes either number by rewriting F: the probe reads it at every tick, a write that does not fit reads it
 * again first.
 *
 * Not in the release binary: `make build` defines MQRAFT_TEST_HOOKS as "off", which makes the function below return
 * at once and drops the rest (test/cmd/release-binary.test.ts checks the binary holds none of these names).
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Fs, OpenMode } from "../storage/fs.ts";
import type { FreeSpaceProbe } from "./free-space.ts";

export const DISK_FILE_ENV = process.env.MQRAFT_TEST_HOOKS === "off" ? "" : "MQRAFT_TEST_DISK_FILE";

/** With MQRAFT_TEST_DISK_FILE set: `inner` limited to that size, and the probe of its free space. */
export function testDisk(dataDir: string, inner: Fs): { fs: Fs; probe: FreeSpaceProbe } | undefined {
  if (process.env.MQRAFT_TEST_HOOKS === "off") return undefined;
  const sizeFile = DISK_FILE_ENV === "" ? undefined : process.env[DISK_FILE_ENV];
  if (sizeFile === undefined || sizeFile === "") return undefined;
  let total = 0;
  /** Reads the disk's size and what others take; returns the bytes the data folder may hold. */
  const readSize = (): number => {
    const [size, taken = 0] = readFileSync(sizeFile, "utf8").trim().split(/\s+/).map(Number);
    if (!Number.isSafeInteger(size) || !Number.isSafeInteger(taken) || taken < 0 || taken > (size as number))
      throw new Error(`${sizeFile} must hold a size in bytes, and optionally the bytes others take`);
    total = size as number;
    return total - taken;
  };
  const fileSize = (path: string): number => {
    try {
      return statSync(path).size;
    } catch {
      return 0;
    }
  };
  const enospc = (): Error =>
    Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", syscall: "write" });

  let quota = readSize();
  let used = 0;
  const sizes = new Map<number, number>();
  /** The file behind `fd` now ends at `end` (if that is further): count the growth. */
  const grownTo = (fd: number, end: number): void => {
    const size = sizes.get(fd) ?? inner.size(fd);
    if (end > size) used += end - size;
    sizes.set(fd, Math.max(size, end));
  };
  /** How many bytes from `position` may be written to `fd` without passing the size. */
  const room = (fd: number, position: number, length: number): number => {
    const size = sizes.get(fd) ?? inner.size(fd);
    const growth = Math.max(0, position + length - size);
    if (used + growth > quota) quota = readSize();
    if (used + growth <= quota) return length;
    return Math.max(0, Math.min(length, size + (quota - used) - position));
  };

  const fs: Fs = {
    read: (fd, buf, position) => inner.read(fd, buf, position),
    size: (fd) => inner.size(fd),
    datasync: (fd) => inner.datasync(fd),
    datasyncSync: (fd) => inner.datasyncSync(fd),
    syncDir: (dir) => inner.syncDir(dir),
    syncDirSync: (dir) => inner.syncDirSync(dir),
    readdir: (dir) => inner.readdir(dir),
    mkdir: (dir) => inner.mkdir(dir),
    tryLock: (fd) => inner.tryLock(fd),
    pid: () => inner.pid(),
    open(path: string, mode: OpenMode): number {
      if (mode === "w") used -= fileSize(path);
      const fd = inner.open(path, mode);
      sizes.set(fd, inner.size(fd));
      return fd;
    },
    close(fd: number): void {
      sizes.delete(fd);
      inner.close(fd);
    },
    write(fd: number, data: Uint8Array, position: number): void {
      const fits = room(fd, position, data.length);
      if (fits < data.length) {
        if (fits > 0) inner.write(fd, data.subarray(0, fits), position);
        grownTo(fd, position + fits);
        throw enospc();
      }
      inner.write(fd, data, position);
      grownTo(fd, position + data.length);
    },
    async writeParts(fd: number, parts: readonly Uint8Array[], position: number): Promise<void> {
      const length = parts.reduce((n, p) => n + p.length, 0);
      if (room(fd, position, length) < length) throw enospc();
      await inner.writeParts(fd, parts, position);
      grownTo(fd, position + length);
    },
    truncate(fd: number, length: number): void {
      const size = sizes.get(fd) ?? inner.size(fd);
      inner.truncate(fd, length);
      used += length - size;
      sizes.set(fd, length);
    },
    rename(from: string, to: string): void {
      const replaced = fileSize(to);
      inner.rename(from, to);
      used -= replaced;
    },
    unlink(path: string): void {
      const size = fileSize(path);
      inner.unlink(path);
      used -= size;
    },
  };
  const folderBytes = (dir: string): number => {
    let total = 0;
    let names: string[] = [];
    try {
      names = readdirSync(dir);
    } catch {
      return 0;
    }
    for (const name of names) {
      const path = join(dir, name);
      total += statSync(path, { throwIfNoEntry: false })?.isDirectory() ? folderBytes(path) : fileSize(path);
    }
    return total;
  };
  used = folderBytes(dataDir);
  const probe: FreeSpaceProbe = () => {
    quota = readSize();
    return { freeBytes: Math.max(0, quota - used), totalBytes: total };
  };
  return { fs, probe };
}
