import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { requireBinary, requireTestBinary } from "../support/binary.ts";

/**
 * The names by which the test-only switches of src/node/test-durability.ts, src/node/test-disk.ts and LogStore's
 * fsynced-length report are reached: the environment variables, the report's file, the store's hook, the disk's error.
 */
const TEST_ONLY = [
  "MQRAFT_TEST_NO_FSYNC",
  "MQRAFT_TEST_SYNCED_LENGTHS",
  ".synced.json",
  "onDurableLengths",
  "MQRAFT_TEST_DISK_FILE",
  "must hold a size in bytes",
];

function holds(binary: string): string[] {
  const bytes = readFileSync(binary);
  return TEST_ONLY.filter((name) => bytes.includes(name));
}

test("the release binary holds none of the test-only switches; the test build holds them all", () => {
  expect({ release: holds(requireBinary()), test: holds(requireTestBinary()) }).toEqual({
    release: [],
    test: TEST_ONLY,
  });
});
