import { mkdirSync, readdirSync, rmSync, statfsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { requireBinary, requireTestBinary } from "./binary.ts";

/**
 * Small disks for data folders, so that they really fill (the disk alarm, ENOSPC), two ways:
 * - "tmpfs": a small tmpfs mounted on the folder (needs root), run by the release binary;
 * - "quota": the test build's disk of a chosen size (MQRAFT_TEST_DISK_FILE, src/node/test-disk.ts), for runs without
 *   root; the size lives in a file beside the folder.
 */
export type DiskKind = "tmpfs" | "quota";

/** Every kind this process can use: both as root, else the quota disk alone. */
export const DISK_KINDS: DiskKind[] = process.getuid?.() === 0 ? ["tmpfs", "quota"] : ["quota"];

const FILLER = "filler";

export class SmallDisks {
  private readonly mounted: string[] = [];
  private readonly sizeFiles: string[] = [];

  constructor(readonly kind: DiskKind) {}

  /** The broker binary to run on these disks. */
  get binary(): string {
    return this.kind === "tmpfs" ? requireBinary() : requireTestBinary();
  }

  /** What a broker whose data folder is `dir` needs in its environment (nothing unless it was given a disk). */
  envFor(dir: string): Record<string, string> {
    return this.sizeFiles.includes(sizeFile(dir)) ? { MQRAFT_TEST_DISK_FILE: sizeFile(dir) } : {};
  }

  /** Gives the folder a disk of `bytes`. */
  give(dir: string, bytes: number): void {
    mkdirSync(dir, { recursive: true });
    if (this.kind === "quota") {
      this.sizeFiles.push(sizeFile(dir));
      return this.resize(dir, bytes);
    }
    const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${bytes}`, "tmpfs", dir]);
    if (!r.success) throw new Error(`mount tmpfs on ${dir} failed: ${r.stderr.toString()}`);
    this.mounted.push(dir);
  }

  /** An operator giving the broker a larger disk. */
  resize(dir: string, bytes: number): void {
    if (this.kind === "quota") return writeFileSync(sizeFile(dir), String(bytes));
    const r = Bun.spawnSync(["mount", "-o", `remount,size=${bytes}`, dir]);
    if (!r.success) throw new Error(`remount of ${dir} failed: ${r.stderr.toString()}`);
  }

  /** Another process takes the disk until about `freeBytes` are left; clear() gives it back. */
  fillTo(dir: string, freeBytes: number): void {
    if (this.kind === "quota") return this.resize(dir, folderBytes(dir) + freeBytes);
    const s = statfsSync(dir);
    writeFileSync(join(dir, FILLER), Buffer.alloc(Math.max(0, s.bavail * s.bsize - freeBytes)));
  }

  /** Undoes fillTo(): the disk is `bytes` again with nothing of another process on it. */
  clear(dir: string, bytes: number): void {
    if (this.kind === "quota") return this.resize(dir, bytes);
    rmSync(join(dir, FILLER), { force: true });
  }

  /** Unmounts what was mounted (lazily: a broker still running may hold files open) and removes the size files. */
  cleanup(): void {
    for (const dir of this.mounted.splice(0)) Bun.spawnSync(["umount", "-l", dir]);
    for (const file of this.sizeFiles.splice(0)) rmSync(file, { force: true });
  }
}

/** Beside the folder, not in it: the broker's disk does not count it. */
function sizeFile(dir: string): string {
  return `${dir.replace(/\/+$/, "")}.disk-size`;
}

function folderBytes(dir: string): number {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const s = statSync(join(dir, name), { throwIfNoEntry: false });
    if (s !== undefined) total += s.isDirectory() ? folderBytes(join(dir, name)) : s.size;
  }
  return total;
}
