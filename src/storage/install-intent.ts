import * as v from "valibot";
import type { Entry, Snapshot, SnapshotMeta } from "../raft/log-types.ts";
import { assert } from "../util/assert.ts";
import { encode } from "../util/cbor-x.ts";
import { MqraftError } from "../util/errors.ts";
import { crc32Update } from "./crc32.ts";
import { runProblem } from "./entry-run.ts";
import type { Fs } from "./fs.ts";
import { TEMP_SUFFIX } from "./layout.ts";
import { encodeRecords, recordSize } from "./record-codec.ts";
import { renameTempIntoPlace, sealedChecksum, sealedHeader, sealParts } from "./sealed-file.ts";
import { Count } from "./state-files.ts";

/**
 * The log entries a leader sends along with its snapshot: those at or below the snapshot's index
 * that still hold retained messages, and the term of the entry just before the first of them.
 */
export interface InstallHistory {
  /** Term of the entry just before the first of `entries` (ignored when there are none). */
  prevTerm: number;
  /** Contiguous, terms never decreasing, ending at the snapshot's index and term. */
  entries: readonly Entry[];
}

export const NO_HISTORY: InstallHistory = { prevTerm: 0, entries: [] };

/**
 * The same history read a batch at a time (from a snapshot transfer received into a file), so that installing it
 * never holds all of it: `count` entries from index `first`, ending at the snapshot's index.
 */
export interface HistoryStream {
  prevTerm: number;
  first: number;
  count: number;
  /** What the entries take as log records (recordSize of each). */
  recordBytes: number;
  /** The entries in order; called once for the intent file and once for the log. */
  batches(): Iterable<readonly Entry[]>;
}

/**
 * `<dir>/installing`: an installSnapshot in progress. Written (atomically) before anything else
 * the install changes and removed once the log holds exactly `history`, it lets recovery finish an
 * install whose snapshot file is already in place, or drop one whose snapshot never got there.
 */
export interface InstallIntent {
  index: number;
  term: number;
  /** The sealed checksum of the new snapshot file: tells it apart from an older one at the same index. */
  snapshotChecksum: number;
  /** With an empty history, prevTerm is the snapshot's term (the log continues after it). */
  history: InstallHistory;
}

export const MAGIC_INSTALL = 0x4d51494e; // "MQIN"
const MAX_SEALED_BODY = 2 ** 32 - 1;

export const IntentMetaSchema = v.strictObject({
  index: Count,
  term: Count,
  snapshotChecksum: v.pipe(Count, v.maxValue(MAX_SEALED_BODY)),
  prevTerm: Count,
  entries: Count,
});

/**
 * Why `history` cannot follow a snapshot at `meta`, or undefined when it can: contiguous entries
 * whose terms never decrease (from prevTerm on), ending at the snapshot's index and term.
 */
export function historyProblem(
  meta: Pick<SnapshotMeta, "index" | "term">,
  history: InstallHistory,
): string | undefined {
  const { entries, prevTerm } = history;
  const first = entries[0];
  const last = entries.at(-1);
  if (first === undefined || last === undefined) return undefined;
  if (!Number.isSafeInteger(prevTerm) || prevTerm < 0) return `previous term ${prevTerm} is not a term`;
  if (!Number.isSafeInteger(first.index) || first.index < 1) return `first index ${first.index} is not an index`;
  const broken = runProblem(entries, prevTerm);
  if (broken !== undefined) return `history entries must be contiguous with non-decreasing terms (${broken})`;
  if (last.index !== meta.index || last.term !== meta.term) {
    return `history must end at the snapshot (index ${meta.index} term ${meta.term}), not at index ${last.index} term ${last.term}`;
  }
  return undefined;
}

/** The intent for installing `snapshot` (whose sealed file is `snapshotFile`) with `history`. */
export function installIntent(
  snapshot: Snapshot,
  snapshotFile: readonly Uint8Array[],
  history: InstallHistory,
): InstallIntent {
  const { index, term } = snapshot.meta;
  return {
    index,
    term,
    snapshotChecksum: sealedChecksum(snapshotFile[0] as Uint8Array),
    history: history.entries.length === 0 ? { prevTerm: term, entries: [] } : history,
  };
}

/** True when the snapshot file in place is the one the intent installs: recovery then finishes the install. */
export function installReachedSnapshot(
  intent: Pick<InstallIntent, "index" | "term" | "snapshotChecksum">,
  snapshot: Snapshot | undefined,
  snapshotChecksum: number | undefined,
): boolean {
  return (
    snapshot?.meta.index === intent.index &&
    snapshot.meta.term === intent.term &&
    snapshotChecksum === intent.snapshotChecksum
  );
}

/** Body: metadata length u32 | metadata (CBOR) | the history's entries as log records, back to back. */
export function encodeInstallIntent(intent: InstallIntent): Uint8Array[] {
  const { entries, prevTerm } = intent.history;
  const meta = encode({
    index: intent.index,
    term: intent.term,
    snapshotChecksum: intent.snapshotChecksum,
    prevTerm,
    entries: entries.length,
  });
  const recordBytes = entries.reduce((n, e) => n + recordSize(e.data.length), 0);
  if (4 + meta.length + recordBytes > MAX_SEALED_BODY) {
    throw new MqraftError(
      "INTERNAL",
      `a snapshot history of ${recordBytes} bytes is too large to install (at most 4 GiB)`,
    );
  }
  const records = encodeRecords(entries);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, meta.length);
  return sealParts(MAGIC_INSTALL, [len, meta, records]);
}

/**
 * Writes the intent for `meta` with `history` to `path` atomically, as encodeInstallIntent's bytes would be, a
 * batch of records at a time, checking the history on the way: nothing is in place unless all of it is sound.
 */
export async function writeInstallIntentStreamed(
  fs: Fs,
  dir: string,
  path: string,
  meta: Omit<InstallIntent, "history">,
  history: HistoryStream,
): Promise<void> {
  const prevTerm = history.count === 0 ? meta.term : history.prevTerm;
  const metaBytes = encode({ ...meta, prevTerm, entries: history.count });
  const bodyLength = 4 + metaBytes.length + history.recordBytes;
  if (bodyLength > MAX_SEALED_BODY) {
    throw new MqraftError(
      "INTERNAL",
      `a snapshot history of ${history.recordBytes} bytes is too large to install (at most 4 GiB)`,
    );
  }
  const header = sealedHeader(MAGIC_INSTALL, bodyLength);
  const fd = fs.open(path + TEMP_SUFFIX, "w");
  try {
    let at = header.length;
    let crc = crc32Update(0, header.subarray(0, 12));
    const put = (bytes: Uint8Array): void => {
      fs.write(fd, bytes, at);
      at += bytes.length;
      crc = crc32Update(crc, bytes);
    };
    const len = new Uint8Array(4);
    new DataView(len.buffer).setUint32(0, metaBytes.length);
    put(len);
    put(metaBytes);
    let next = history.first;
    let term = prevTerm;
    for (const batch of history.batches()) {
      const broken =
        batch[0]?.index === next ? runProblem(batch, term) : `index ${batch[0]?.index} where ${next} was due`;
      if (broken !== undefined)
        throw new MqraftError("INTERNAL", `cannot install the snapshot at index ${meta.index}: ${broken}`);
      put(encodeRecords(batch));
      next += batch.length;
      term = batch.at(-1)?.term ?? term;
    }
    if (
      next !== history.first + history.count ||
      (history.count > 0 && (next - 1 !== meta.index || term !== meta.term))
    ) {
      throw new MqraftError(
        "INTERNAL",
        `cannot install the snapshot at index ${meta.index} term ${meta.term}: its history ends at index ${next - 1} term ${term}`,
      );
    }
    assert(
      at === header.length + bodyLength,
      () => `install intent: wrote ${at - header.length} body bytes of ${bodyLength}`,
    );
    new DataView(header.buffer).setUint32(12, crc);
    fs.write(fd, header, 0);
    await fs.datasync(fd);
  } finally {
    fs.close(fd);
  }
  renameTempIntoPlace(fs, path);
  await fs.syncDir(dir);
}
