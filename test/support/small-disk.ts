import { mkdirSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { requireBinary, requireTestBinary } from "./binary.ts";
import { type ClusterOptions, TestCluster } from "./cluster.ts";

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
    return this.sizeFiles.includes(sizeFile(dir)) ? quotaDiskEnv(dir) : {};
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
    if (this.kind === "quota") return setQuotaDiskSize(dir, bytes);
    const r = Bun.spawnSync(["mount", "-o", `remount,size=${bytes}`, dir]);
    if (!r.success) throw new Error(`remount of ${dir} failed: ${r.stderr.toString()}`);
  }

  /** Another process takes the disk until about `freeBytes` are left; clear() gives it back. */
  fillTo(dir: string, freeBytes: number): void {
    if (this.kind === "quota") return fillQuotaDisk(dir, freeBytes);
    const s = statfsSync(dir);
    writeFileSync(join(dir, FILLER), Buffer.alloc(Math.max(0, s.bavail * s.bsize - freeBytes)));
  }

  /** Undoes fillTo(): nothing of another process is left on the disk. */
  clear(dir: string): void {
    if (this.kind === "quota") return setQuotaDiskSize(dir, quotaDiskSize(dir));
    rmSync(join(dir, FILLER), { force: true });
  }

  /** Unmounts what was mounted (lazily: a broker still running may hold files open) and removes the size files. */
  cleanup(): void {
    for (const dir of this.mounted.splice(0)) Bun.spawnSync(["umount", "-l", dir]);
    for (const file of this.sizeFiles.splice(0)) rmSync(file, { force: true });
  }
}

/** A cluster, not started, whose brokers run with what `disks` need (the binary, the environment of a quota disk). */
export async function clusterOnSmallDisks(disks: SmallDisks, options: ClusterOptions): Promise<TestCluster> {
  const cluster: TestCluster = await TestCluster.create({
    ...options,
    start: false,
    binary: disks.binary,
    envFor: (id) => disks.envFor(cluster.broker(id).dataDir),
  });
  return cluster;
}

/** The environment of a broker (the test build) whose data folder `dir` is on a quota disk. */
export function quotaDiskEnv(dir: string): Record<string, string> {
  return { MQRAFT_TEST_DISK_FILE: sizeFile(dir) };
}

/** Sets the size of the quota disk of `dir` (the broker reads it at its next tick). */
export function setQuotaDiskSize(dir: string, bytes: number): void {
  writeFileSync(sizeFile(dir), String(bytes));
}

/** Another process takes the quota disk of `dir` until `freeBytes` are left; its size stays. */
export function fillQuotaDisk(dir: string, freeBytes: number): void {
  const size = quotaDiskSize(dir);
  writeFileSync(sizeFile(dir), `${size} ${Math.max(0, size - folderBytes(dir) - freeBytes)}`);
}

function quotaDiskSize(dir: string): number {
  return Number(readFileSync(sizeFile(dir), "utf8").trim().split(/\s+/)[0]);
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
