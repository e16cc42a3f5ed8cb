import { mkdirSync } from "node:fs";

/** Small file systems of their own for data folders, so that disks really fill (statfs, ENOSPC); mounting needs root. */
export const asRoot = process.getuid?.() === 0;

const mounted: string[] = [];

export function mountTmpfs(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  const r = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", `size=${size}`, "tmpfs", dir]);
  if (!r.success) throw new Error(`mount tmpfs on ${dir} failed: ${r.stderr.toString()}`);
  mounted.push(dir);
}

/** An operator giving the broker a larger disk. */
export function growTmpfs(dir: string, size: string): void {
  const r = Bun.spawnSync(["mount", "-o", `remount,size=${size}`, dir]);
  if (!r.success) throw new Error(`remount of ${dir} failed: ${r.stderr.toString()}`);
}

/** Unmounts every file system this process mounted (lazily: a broker still running may hold files open). */
export function unmountAll(): void {
  for (const dir of mounted.splice(0)) Bun.spawnSync(["umount", "-l", dir]);
}
