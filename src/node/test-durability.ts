/**
 * Test-only durability switches, read from the environment, for the chaos tests' power cuts (test/chaos/disk-faults.ts).
 * Never set in production.
 *
 * - MQRAFT_TEST_SYNCED_LENGTHS=1: keep a JSON list of each log file and the length known fsynced beside the data
 *   folder, replaced before each sync resolves, so that a test can kill the broker and cut each file back to it.
 * - MQRAFT_TEST_NO_FSYNC=1: skip every fsync (and report nothing as synced after start): a broken broker that the
 *   chaos checker must catch losing acknowledged messages after a power cut.
 *
 * Neither exists in the release binary: `make build` compiles it with process.env.MQRAFT_TEST_HOOKS defined as "off",
 * which turns the functions below into plain returns and drops the rest (test/cmd/release-binary.test.ts checks the
 * binary holds none of these names); tests that need them run dist/mqraft-test, built without that define.
 */
import { renameSync, writeFileSync } from "node:fs";
import type { Fs } from "../storage/fs.ts";
import type { LogStore } from "../storage/log-store.ts";
import { RealFs } from "../storage/real-fs.ts";

// Bun keeps every top-level declaration of a module the CLI loads lazily, used or not: so what names a switch is
// written as an expression the define folds to nothing, or inside a function body the define makes dead.
export const SYNCED_LENGTHS_ENV = process.env.MQRAFT_TEST_HOOKS === "off" ? "" : "MQRAFT_TEST_SYNCED_LENGTHS";
export const NO_FSYNC_ENV = process.env.MQRAFT_TEST_HOOKS === "off" ? "" : "MQRAFT_TEST_NO_FSYNC";

const noFsync = (): boolean => NO_FSYNC_ENV !== "" && process.env[NO_FSYNC_ENV] === "1";

/** Where the report of a broker whose data folder is `dataDir` is kept: beside the folder, not in it. */
export function syncedLengthsPath(dataDir: string): string {
  if (process.env.MQRAFT_TEST_HOOKS === "off") throw new Error("this build has no test-only switches");
  return `${dataDir.replace(/\/+$/, "")}.synced.json`;
}

/** The broker's file system: the real one, or with MQRAFT_TEST_NO_FSYNC one whose syncs do nothing. */
export function brokerFs(): Fs {
  const fs = new RealFs();
  if (process.env.MQRAFT_TEST_HOOKS === "off" || !noFsync()) return fs;
  fs.datasync = async () => {};
  fs.datasyncSync = () => {};
  fs.syncDir = async () => {};
  fs.syncDirSync = () => {};
  return fs;
}

export function reportSyncedLengths(store: LogStore, dataDir: string): void {
  if (process.env.MQRAFT_TEST_HOOKS === "off" || process.env[SYNCED_LENGTHS_ENV] !== "1") return;
  const path = syncedLengthsPath(dataDir);
  let reports = 0;
  store.onDurableLengths = (lengths) => {
    // Without fsync only what was on disk at start is durable.
    if (noFsync() && reports++ > 0) return;
    writeFileSync(`${path}.tmp`, JSON.stringify(lengths));
    renameSync(`${path}.tmp`, path);
  };
  store.reportDurable();
}
