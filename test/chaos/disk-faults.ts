/** Faults on a stopped broker's files: a power cut (unsynced bytes lost) and a flipped bit in a record. */
import { closeSync, existsSync, openSync, readFileSync, readSync, statSync, truncateSync, writeSync } from "node:fs";
import { join } from "node:path";
import * as v from "valibot";
import { SYNCED_LENGTHS_ENV, syncedLengthsPath } from "../../src/node/test-durability.ts";
import { dataLayout } from "../../src/storage/layout.ts";
import { RealFs } from "../../src/storage/real-fs.ts";
import { RECORD_PREFIX_SIZE } from "../../src/storage/record-codec.ts";
import { listSegments, scanSegment } from "../../src/storage/segment-scan.ts";
import { createPrng } from "../../src/util/prng.ts";

const SyncedLengthsSchema = v.array(v.object({ path: v.string(), length: v.number() }));

/**
 * Cuts every log segment of `dataDir` back to the length its broker last reported fsynced (MQRAFT_TEST_SYNCED_LENGTHS),
 * as a power cut would; a segment the report does not name was created after the last sync and is cut to nothing.
 * Returns what was cut, for the history.
 */
export function cutToSyncedLengths(dataDir: string): string {
  const reportPath = syncedLengthsPath(dataDir);
  const { logDir } = dataLayout(dataDir);
  if (!existsSync(reportPath)) {
    // a broker reports as soon as it opens its log: without a report it wrote none, or the cut cannot be simulated
    if (!existsSync(logDir) || listSegments(new RealFs(), logDir).segments.length === 0) return "no log written yet";
    throw new Error(
      `power cut of ${dataDir}: its log has segments but the broker reported no fsynced lengths (${reportPath}); was it started without ${SYNCED_LENGTHS_ENV}=1?`,
    );
  }
  const synced = new Map(
    v.parse(SyncedLengthsSchema, JSON.parse(readFileSync(reportPath, "utf8"))).map((f) => [f.path, f.length]),
  );
  const cuts: string[] = [];
  for (const { name } of listSegments(new RealFs(), logDir).segments) {
    const path = join(logDir, name);
    const size = statSync(path).size;
    const keep = Math.min(size, synced.get(path) ?? 0);
    if (keep < size) {
      truncateSync(path, keep);
      cuts.push(`${name} ${size}→${keep}`);
    }
  }
  return cuts.length === 0 ? "every segment was fsynced whole" : `cut ${cuts.join(", ")}`;
}

/**
 * Flips one byte in the payload of a record chosen by `seed`, never in the last record of the newest segment (a bad
 * last record passes for a torn write, which recovery rightly drops), and at most at `maxIndex`. Returns where, or
 * why nothing was flipped.
 */
export function corruptOneRecord(dataDir: string, seed: number, maxIndex = Number.POSITIVE_INFINITY): string {
  const fs = new RealFs();
  const { logDir } = dataLayout(dataDir);
  const segments = listSegments(fs, logDir).segments.map((s) => scanSegment(fs, logDir, s.name, s.firstIndex));
  const candidates = segments
    .flatMap((s, k) => {
      const last = k === segments.length - 1 ? s.positions.length - 1 : s.positions.length;
      return s.positions.slice(0, Math.max(0, last)).map((position, i) => ({ s, position, index: s.firstIndex + i }));
    })
    .filter((c) => c.index <= maxIndex);
  if (candidates.length === 0) return "no record to corrupt";
  const prng = createPrng(seed);
  const { s, position, index } = prng.pick(candidates);
  // Past the record's prefix (length and CRC): a byte the CRC covers.
  const at = position + RECORD_PREFIX_SIZE + prng.int(0, 8);
  const fd = openSync(s.path, "r+");
  try {
    const byte = Buffer.alloc(1);
    readSync(fd, byte, 0, 1, at);
    byte[0] = (byte[0] as number) ^ 0x5a;
    writeSync(fd, byte, 0, 1, at);
  } finally {
    closeSync(fd);
  }
  return `flipped byte ${at} of ${s.name} (record of index ${index})`;
}
