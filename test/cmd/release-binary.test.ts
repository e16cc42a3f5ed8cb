import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { requireBinary, requireTestBinary } from "../support/binary.ts";

/**
 * The names by which the test-only switches of src/node/test-durability.ts and LogStore's fsynced-length report are
 * reached: the environment variables, the report's file, and the store's hook.
 */
const TEST_ONLY = ["MQRAFT_TEST_NO_FSYNC", "MQRAFT_TEST_SYNCED_LENGTHS", ".synced.json", "onDurableLengths"];

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
