import { LogStore, type LogStoreOptions } from "../../src/storage/log-store.ts";
import type { SimFs } from "../../src/storage/sim-fs.ts";

/**
 * Completes the simulated fs's syncs (manual mode) until `p` settles: the disk keeps up with
 * whatever the storage asks of it, one sync at a time, in order.
 */
export async function drive<T>(fs: SimFs, p: Promise<T>): Promise<T> {
  let settled = false;
  const watched = p.then(
    () => (settled = true),
    () => (settled = true),
  );
  while (!settled) {
    fs.completeSyncs();
    await Promise.race([watched, fs.syncQueued()]);
  }
  return p;
}

export function openDriven(fs: SimFs, options: Omit<LogStoreOptions, "fs">): Promise<LogStore> {
  return drive(fs, LogStore.open({ fs, ...options }));
}

/**
 * One macrotask turn. SimFs does no real I/O, so when it returns every promise chain that could
 * make progress has run: the storage is waiting only on syncs the test has not completed.
 */
export function quiesce(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
