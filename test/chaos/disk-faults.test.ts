import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { reportSyncedLengths, SYNCED_LENGTHS_ENV } from "../../src/node/test-durability.ts";
import { LogStore } from "../../src/storage/log-store.ts";
import { RealFs } from "../../src/storage/real-fs.ts";
import { recordSize, SEGMENT_HEADER_SIZE } from "../../src/storage/record-codec.ts";
import { makeEntries } from "../storage/storage-env.ts";
import { corruptOneRecord, cutToSyncedLengths } from "./disk-faults.ts";

const dirs: string[] = [];
afterEach(() => {
  delete process.env[SYNCED_LENGTHS_ENV];
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Three records per segment, so that a run of entries spans several files. */
const SEG = SEGMENT_HEADER_SIZE + 3 * recordSize(10);

async function openStore(dataDir: string, repair = false): Promise<LogStore> {
  return LogStore.open({ fs: new RealFs(), dir: dataDir, maxSegmentBytes: SEG, repair });
}

function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "mqraft-disk-faults-"));
  dirs.push(dir);
  return join(dir, "data");
}

test("a power cut keeps exactly what was fsynced: entries written after the last sync are gone", async () => {
  const dataDir = tempDataDir();
  process.env[SYNCED_LENGTHS_ENV] = "1";
  const store = await openStore(dataDir);
  reportSyncedLengths(store, dataDir);
  store.append(makeEntries(1, 7, 1));
  await store.sync();
  // Written to the page cache, never synced: a process kill keeps it, a power cut does not.
  store.append(makeEntries(8, 8, 1));
  await store.close();
  expect(cutToSyncedLengths(dataDir)).toMatch(/^cut /);
  const after = await openStore(dataDir);
  reportSyncedLengths(after, dataDir);
  expect(after.lastIndex()).toBe(7);
  // A full segment is synced before the next one starts: 8 and 9 survive, 10 and 11 do not.
  after.append(makeEntries(8, 11, 1));
  await after.close();
  expect(cutToSyncedLengths(dataDir)).toMatch(/^cut /);
  const last = await openStore(dataDir);
  expect(last.lastIndex()).toBe(9);
  await last.close();
  expect(cutToSyncedLengths(dataDir)).toBe("every segment was fsynced whole");
});

test("a flipped byte in a record is corruption: refused on open, cut with repair", async () => {
  const dataDir = tempDataDir();
  const store = await openStore(dataDir);
  store.append(makeEntries(1, 7, 1));
  await store.sync();
  await store.close();
  const where = corruptOneRecord(dataDir, 3);
  expect(where).toMatch(/^flipped byte \d+ of \d+\.seg \(record of index [1-6]\)$/);
  const refused = await openStore(dataDir).then(
    async (s) => {
      await s.close();
      return undefined;
    },
    (e: unknown) => e,
  );
  expect(String(refused)).toContain("corrupt");
  const repaired = await openStore(dataDir, true);
  expect(repaired.damage).toBeDefined();
  expect(repaired.lastIndex()).toBeLessThan(7);
  await repaired.close();
});

test("a power cut of a log whose broker reported nothing fsynced fails instead of passing for a kill -9", async () => {
  const dataDir = tempDataDir();
  // no MQRAFT_TEST_SYNCED_LENGTHS: the store writes no report
  const store = await openStore(dataDir);
  store.append(makeEntries(1, 3, 1));
  await store.sync();
  await store.close();
  expect(() => cutToSyncedLengths(dataDir)).toThrow(/reported no fsynced lengths/);
  // a broker killed before it wrote any log has nothing to cut
  expect(cutToSyncedLengths(tempDataDir())).toBe("no log written yet");
});
