import { statfsSync } from "node:fs";

/** Free and total bytes of the file system that holds a data folder. */
export interface FreeSpace {
  /** Bytes an unprivileged process may still write (statfs's bavail). */
  freeBytes: number;
  totalBytes: number;
}

export type FreeSpaceProbe = () => FreeSpace;

const GIB = 1024 ** 3;

/** Reads the data folder's file system with statfs (a few microseconds: cheap enough to ask every second). */
export function statfsProbe(dir: string): FreeSpaceProbe {
  return () => {
    const s = statfsSync(dir);
    return { freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize };
  };
}

/** --min-free-space when not given: 1 GiB, or 5 % of the file system when that is smaller. */
export function defaultMinFreeBytes(totalBytes: number): number {
  return Math.min(GIB, Math.floor(totalBytes * 0.05));
}

/** "1.5 GiB", "730 MiB", "12 KiB", "512 B": for log lines and errors a person reads. */
export function humanBytes(bytes: number): string {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
