import { renameSync, writeFileSync } from "node:fs";
import type { LogStore } from "../storage/log-store.ts";

/** Set to "1" in a test's environment to turn the report on; never in production. */
export const SYNCED_LENGTHS_ENV = "MQRAFT_TEST_SYNCED_LENGTHS";

/** Where the report of a broker whose data folder is `dataDir` is kept: beside the folder, not in it. */
export function syncedLengthsPath(dataDir: string): string {
  return `${dataDir.replace(/\/+$/, "")}.synced.json`;
}

/**
 * Test-only: keeps a JSON list of each log file and the length known fsynced, replaced atomically
 * before each sync resolves, so that a chaos test can simulate a power loss by killing the broker
 * and cutting each file back to that length.
 */
export function reportSyncedLengths(store: LogStore, dataDir: string): void {
  if (process.env[SYNCED_LENGTHS_ENV] !== "1") return;
  const path = syncedLengthsPath(dataDir);
  store.onDurableLengths = (lengths) => {
    writeFileSync(`${path}.tmp`, JSON.stringify(lengths));
    renameSync(`${path}.tmp`, path);
  };
}
