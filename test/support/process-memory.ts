import { readFileSync } from "node:fs";

/** A process's resident and anonymous memory in bytes, from Linux's /proc/<pid>/smaps_rollup. */
export interface ProcessMemory {
  rss: number;
  /** Memory no file backs: the JavaScript heap, array buffers, allocator arenas. What a leak grows. */
  anonymous: number;
}

export function processMemory(pid: number): ProcessMemory {
  const text = readFileSync(`/proc/${pid}/smaps_rollup`, "utf8");
  const kib = (field: string): number => {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text);
    if (match === null) throw new Error(`/proc/${pid}/smaps_rollup has no ${field} line`);
    return Number(match[1]) * 1024;
  };
  return { rss: kib("Rss"), anonymous: kib("Anonymous") };
}

export const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;
