/**
 * A record read back equals the record written (issue 12's invariants): a record whose checksum holds but that is
 * not the entry the store wrote at that place is a bug in the store's bookkeeping and stops the process
 * (AssertionError), while a record whose checksum fails is damage to the disk (CORRUPT, naming file and offset).
 */
import { expect, test } from "bun:test";
import { LogStore } from "../../src/storage/log-store.ts";
import { encodeRecords, SEGMENT_HEADER_SIZE } from "../../src/storage/record-codec.ts";
import { AssertionError } from "../../src/util/assert.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import { fileBytes, flipBit, makeEntries, segmentPaths, setFileBytes, simEnv } from "./storage-env.ts";

/** A store holding entries 1..5 of term 1, reopened so that reads come from the file; record 2 changed by `change`. */
async function readRecord2After(change: (path: string, env: ReturnType<typeof simEnv>) => void): Promise<string> {
  const env = simEnv();
  const s = await LogStore.open({ fs: env.fs, dir: env.dir });
  s.append(makeEntries(1, 5, 1));
  await s.sync();
  await s.close();
  const reopened = await LogStore.open({ fs: env.fs, dir: env.dir });
  try {
    change(segmentPaths(env.fs, env.dir)[0] as string, env);
    reopened.entries(2, 3);
    return "read";
  } catch (e) {
    if (e instanceof AssertionError) return `AssertionError: ${e.message}`;
    if (isMqraftError(e, "CORRUPT")) return `CORRUPT: ${e.message}`;
    throw e;
  } finally {
    await reopened.close();
  }
}

const RECORD_2 = SEGMENT_HEADER_SIZE + encodeRecords(makeEntries(1, 1, 1)).length;

test("a sound record of another term where entry 2 was written is an AssertionError", async () => {
  const got = await readRecord2After((path, env) => {
    const bytes = fileBytes(env.fs, path).slice();
    bytes.set(encodeRecords(makeEntries(2, 2, 7)), RECORD_2);
    setFileBytes(env.fs, path, bytes);
  });
  expect(got).toContain(`AssertionError: invariant broken: the record read back at`);
  expect(got).toContain(`holds index 2 term 7, written as index 2 term 1`);
});

test("a record whose checksum fails is CORRUPT, naming the file and offset", async () => {
  const got = await readRecord2After((path, env) => flipBit(env.fs, path, RECORD_2 + 30));
  expect(got).toContain(`is corrupt at byte ${RECORD_2} (index 2): record checksum mismatch`);
});
