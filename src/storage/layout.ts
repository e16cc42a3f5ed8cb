import { join } from "node:path";

/**
 * Where a data folder keeps what:
 *   <dir>/LOCK                      pid of the broker using the folder
 *   <dir>/hardstate                 term, vote, commit (checksummed, replaced atomically)
 *   <dir>/snapshot                  latest snapshot (checksummed, replaced atomically)
 *   <dir>/damaged                   present only while a repaired log still has to catch up
 *   <dir>/installing                present only while an installSnapshot is unfinished (install-intent.ts)
 *   <dir>/log/<20-digit index>.seg  log segments, named by the index of their first record
 */
export interface DataLayout {
  dir: string;
  logDir: string;
  lock: string;
  hardState: string;
  snapshot: string;
  damage: string;
  installing: string;
}

export function dataLayout(dir: string): DataLayout {
  return {
    dir,
    logDir: join(dir, "log"),
    lock: join(dir, "LOCK"),
    hardState: join(dir, "hardstate"),
    snapshot: join(dir, "snapshot"),
    damage: join(dir, "damaged"),
    installing: join(dir, "installing"),
  };
}

/** Temporary files are written beside their target, then renamed over it. */
export const TEMP_SUFFIX = ".tmp";

const SEGMENT_NAME = /^(\d{20})\.seg$/;

export function segmentFileName(firstIndex: number): string {
  return `${String(firstIndex).padStart(20, "0")}.seg`;
}

/** The first index a segment file name declares, or undefined for a name that is not a segment. */
export function parseSegmentFileName(name: string): number | undefined {
  const m = SEGMENT_NAME.exec(name);
  if (!m) return undefined;
  const n = Number(m[1]);
  return Number.isSafeInteger(n) && n >= 1 ? n : undefined;
}
