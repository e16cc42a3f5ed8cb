import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Entry } from "../../src/raft/log-types.ts";
import type { Fs } from "../../src/storage/fs.ts";
import { RealFs } from "../../src/storage/real-fs.ts";
import { SimFs } from "../../src/storage/sim-fs.ts";

/** One file system and an empty data folder on it, for the shared storage suites. */
export interface StorageEnv {
  fs: Fs;
  dir: string;
  /** A pid that belongs to no running process. */
  deadPid(): number;
  cleanup(): Promise<void>;
}

export function simEnv(): StorageEnv {
  const fs = new SimFs();
  return { fs, dir: "/data/node1", deadPid: () => fs.pid() + 1, cleanup: async () => {} };
}

export async function realEnv(): Promise<StorageEnv> {
  const root = await mkdtemp(join(tmpdir(), "mqraft-storage-"));
  return {
    fs: new RealFs(),
    dir: join(root, "node1"),
    deadPid: () => {
      const child = Bun.spawnSync(["true"]);
      if (!child.success) throw new Error("could not run `true` to obtain a dead pid");
      return child.pid;
    },
    cleanup: () => rm(root, { recursive: true, force: true }),
  };
}

/** Entry data that differs by index, term and salt, so a misplaced record cannot pass for another. */
export function makeEntry(index: number, term: number, size = 10, salt = 0): Entry {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (index * 31 + term * 7 + salt * 13 + i) & 0xff;
  return { index, term, kind: 0, data };
}

export function makeEntries(lo: number, hi: number, term: number, size = 10, salt = 0): Entry[] {
  const out: Entry[] = [];
  for (let i = lo; i <= hi; i++) out.push(makeEntry(i, term, size, salt));
  return out;
}

/** A readable form of entries for comparisons with useful failure output. */
export function describeEntries(entries: readonly Entry[]): string[] {
  return entries.map((e) => `${e.index}@${e.term}/${e.kind}:${Buffer.from(e.data).toString("hex")}`);
}

export function fileBytes(fs: Fs, path: string): Uint8Array {
  const fd = fs.open(path, "r");
  try {
    const buf = new Uint8Array(fs.size(fd));
    fs.read(fd, buf, 0);
    return buf;
  } finally {
    fs.close(fd);
  }
}

/** Replaces a file's content, durably (as damage done while the broker is down). */
export function setFileBytes(fs: Fs, path: string, bytes: Uint8Array): void {
  const fd = fs.open(path, "r+");
  try {
    fs.truncate(fd, 0);
    fs.write(fd, bytes, 0);
    fs.datasyncSync(fd);
  } finally {
    fs.close(fd);
  }
}

export function flipBit(fs: Fs, path: string, offset: number, bit = 0): void {
  const bytes = fileBytes(fs, path);
  bytes[offset] = (bytes[offset] as number) ^ (1 << bit);
  setFileBytes(fs, path, bytes);
}

export function segmentPaths(fs: Fs, dir: string): string[] {
  return fs
    .readdir(join(dir, "log"))
    .filter((n) => n.endsWith(".seg"))
    .sort()
    .map((n) => join(dir, "log", n));
}

export function exists(fs: Fs, path: string): boolean {
  try {
    fs.close(fs.open(path, "r"));
    return true;
  } catch {
    return false;
  }
}
