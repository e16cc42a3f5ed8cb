import type { Entry, Snapshot, SnapshotMeta } from "../raft/log-types.ts";
import { assert } from "../util/assert.ts";
import { MqraftError } from "../util/errors.ts";
import { runProblem } from "./entry-run.ts";
import { type Fs, unlinkIfPresent } from "./fs.ts";
import type { IndexTable } from "./index-table.ts";
import {
  encodeInstallIntent,
  type HistoryStream,
  historyProblem,
  type InstallHistory,
  installIntent,
  writeInstallIntentStreamed,
} from "./install-intent.ts";
import type { DataLayout } from "./layout.ts";
import { sealedChecksum, writeFileAtomic } from "./sealed-file.ts";
import type { SegmentFiles } from "./segment-files.ts";
import { encodeSnapshot } from "./state-files.ts";

/**
 * Installing a leader's snapshot with its history (docs/storage.md, "Installing a snapshot"): the intent file, then
 * the snapshot file, then the log replaced by the history. The log store (its only user) gives the parts of itself an
 * install changes; it runs the install as one of its snapshot writes and keeps a failure from going unnoticed.
 */
export interface LogRebuild {
  readonly fs: Fs;
  readonly layout: DataLayout;
  readonly files: SegmentFiles;
  readonly index: IndexTable;
  /** Whether a flush is running (its segment files are closed only once it is done). */
  flushRunning(): boolean;
  /** The log is empty from now and continues after an entry of `prevTerm`: the caches of its tail are emptied. */
  restart(first: number, prevTerm: number): void;
  writeEntries(entries: readonly Entry[]): void;
  /** The new snapshot file is in place. */
  snapshotInPlace(snapshot: Snapshot): void;
  durableUpTo(index: number): void;
  reportDurable(): void;
}

/** An install whose history is checked and encoded: the writes are done by the function returned. */
export type PreparedInstall = (store: LogRebuild) => Promise<void>;

/** An install of `snapshot` with `history` held whole; throws INTERNAL at once when the history cannot follow it. */
export function prepareInstall(snapshot: Snapshot, history: InstallHistory): PreparedInstall {
  const problem = historyProblem(snapshot.meta, history);
  if (problem !== undefined)
    throw new MqraftError("INTERNAL", `cannot install the snapshot at index ${snapshot.meta.index}: ${problem}`);
  const snapshotFile = encodeSnapshot(snapshot);
  const intent = installIntent(snapshot, snapshotFile, history);
  const intentFile = encodeInstallIntent(intent);
  return async (store) => {
    const { fs, layout } = store;
    // The intent first: once the new snapshot file is in place, recovery rebuilds the log from the intent alone.
    await writeFileAtomic(fs, layout.dir, layout.installing, intentFile);
    await writeFileAtomic(fs, layout.dir, layout.snapshot, snapshotFile);
    store.snapshotInPlace(snapshot);
    await replaceLog(store, snapshot.meta, intent.history);
  };
}

/**
 * An install with a history read a batch at a time (a transfer received into a file): the intent file and the log
 * are written a batch at a time, so the store never holds the whole history. The same crash guarantees hold.
 */
export function prepareStreamedInstall(snapshot: Snapshot, history: HistoryStream): PreparedInstall {
  const snapshotFile = encodeSnapshot(snapshot);
  const { index, term } = snapshot.meta;
  const meta = { index, term, snapshotChecksum: sealedChecksum(snapshotFile[0] as Uint8Array) };
  return async (store) => {
    const { fs, layout } = store;
    await writeInstallIntentStreamed(fs, layout.dir, layout.installing, meta, history);
    await writeFileAtomic(fs, layout.dir, layout.snapshot, snapshotFile);
    store.snapshotInPlace(snapshot);
    await replaceLogStreamed(store, snapshot.meta, history);
  };
}

/** replaceLog with the history read a batch at a time: a streamed install, or recovery finishing an install. */
export function replaceLogStreamed(
  store: LogRebuild,
  snap: Pick<SnapshotMeta, "index" | "term">,
  history: HistoryStream,
): Promise<void> {
  if (history.count === 0) return replaceLogFrom(store, snap, snap.term, snap.index + 1, 0, []);
  return replaceLogFrom(store, snap, history.prevTerm, history.first, history.count, history.batches());
}

/**
 * The end of an install, also of one that recovery found unfinished: the log becomes exactly
 * `history`, durably, and only then is the intent removed.
 */
export function replaceLog(
  store: LogRebuild,
  snap: Pick<SnapshotMeta, "index" | "term">,
  history: InstallHistory,
): Promise<void> {
  const { entries } = history;
  return replaceLogFrom(store, snap, history.prevTerm, entries[0]?.index ?? snap.index + 1, entries.length, [entries]);
}

/**
 * The log becomes the `count` entries `batches` yields from index `first` on (they end at the snapshot), or with
 * none continues after the snapshot. A streamed install reads its history a second time here: what it yields must
 * be what the intent holds, or the log would differ from what recovery rebuilds, so it is checked before the
 * intent is removed (an assertion: the first read was checked as the intent was written).
 */
async function replaceLogFrom(
  store: LogRebuild,
  snap: Pick<SnapshotMeta, "index" | "term">,
  prevTerm: number,
  first: number,
  count: number,
  batches: Iterable<readonly Entry[]>,
): Promise<void> {
  const { fs, layout, files, index } = store;
  const snapIndex = snap.index;
  while (files.list.length > 0) files.remove("newest", store.flushRunning());
  store.restart(first, prevTerm);
  let term = prevTerm;
  for (const batch of batches) {
    if (batch.length === 0) continue;
    const next = index.lastIndex + 1;
    const broken =
      batch[0]?.index === next ? runProblem(batch, term) : `index ${batch[0]?.index} where ${next} was due`;
    assert(broken === undefined, () => `install at index ${snapIndex}: the history read again breaks (${broken})`);
    store.writeEntries(batch);
    term = (batch.at(-1) as Entry).term;
    // into the file batch by batch: the store's write buffer holds one batch, not the history
    files.writePending();
  }
  const written = index.lastIndex + 1 - first;
  assert(
    written === count && (count === 0 || (index.lastIndex === snapIndex && term === snap.term)),
    () =>
      `install at index ${snapIndex} term ${snap.term}: the history read again holds ${written} entries ending at ` +
      `index ${index.lastIndex} term ${term}, its intent ${count}`,
  );
  // Durable already: while the intent exists, recovery rebuilds these entries from it.
  store.durableUpTo(snapIndex);
  const newest = files.newest;
  if (newest !== undefined && newest.size > newest.durableSize) {
    const size = newest.size;
    files.writePending();
    await fs.datasync(newest.fd);
    newest.durableSize = Math.max(newest.durableSize, size);
  }
  await files.syncDir();
  store.reportDurable();
  unlinkIfPresent(fs, layout.installing);
  await fs.syncDir(layout.dir);
}
