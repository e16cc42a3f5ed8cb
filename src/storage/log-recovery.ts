import { join } from "node:path";
import type { HardState, Snapshot } from "../raft/log-types.ts";
import { MqraftError } from "../util/errors.ts";
import { type Fs, readWholeFile, unlinkIfPresent } from "./fs.ts";
import { IndexTable } from "./index-table.ts";
import { type HistoryStream, installReachedSnapshot } from "./install-intent.ts";
import { readInstallIntent } from "./intent-reader.ts";
import { type DataLayout, TEMP_SUFFIX } from "./layout.ts";
import { sealedChecksum, writeFileAtomic } from "./sealed-file.ts";
import { listSegments, type ScannedSegment, type SegmentProblem, scanSegment } from "./segment-scan.ts";
import { type Damage, decodeDamage, decodeHardState, decodeSnapshot, encodeDamage } from "./state-files.ts";

/** What recovery found and did, for the broker to log. */
export interface RecoveryReport {
  /** Cut off the newest segment: a write that never finished, so never acknowledged by this node. */
  tornTail?: { file: string; offset: number; bytes: number; reason: string };
  /** A newest segment whose header was never completely written, removed. */
  removedSegment?: string;
  /** An installSnapshot interrupted after its snapshot was in place: the log is rebuilt from the history it saved. */
  finishedInstall?: { index: number; entries: number };
  /** An installSnapshot interrupted before its snapshot was in place: dropped; the old snapshot and log stay. */
  droppedInstall?: { index: number; term: number };
  /** Set when this open repaired a corrupt log (also exposed as LogStore.damage). */
  repaired?: Damage;
  /** The index of the snapshot a repair deleted because it cut entries at or below it. */
  droppedSnapshot?: number;
  /** Files in the log folder that are not segments; left alone. */
  strays: string[];
  /** The hard state's commit index lies beyond the recovered log: the node catches up from the leader. */
  commitBeyondLog: boolean;
}

export interface RecoveredSegment {
  firstIndex: number;
  path: string;
}

export interface RecoveredLog {
  segments: RecoveredSegment[];
  index: IndexTable;
  /** Term of the entry before the first one held. */
  prevTerm: number;
  hardState: HardState;
  snapshot: Snapshot | undefined;
  damage: Damage | undefined;
  report: RecoveryReport;
  /** Set when recovery finishes an install: the log (now empty) must become exactly this history. */
  unfinishedInstall: HistoryStream | undefined;
}

export interface Cut {
  /** Position in the scan list of the segment cut; it and every later one go when offset is 0. */
  at: number;
  problem: SegmentProblem;
}

function loadState<T>(fs: Fs, path: string, decode: (path: string, bytes: Uint8Array) => T): T | undefined {
  const bytes = readWholeFile(fs, path);
  return bytes === undefined ? undefined : decode(path, bytes);
}

/** Finds the first place where the log stops being sound: a torn tail, or corruption. */
export function findCut(scans: ScannedSegment[]): Cut | undefined {
  for (let at = 0; at < scans.length; at++) {
    const s = scans[at] as ScannedSegment;
    const prev = scans[at - 1];
    if (prev !== undefined) {
      const expected = prev.firstIndex + prev.terms.length;
      const prevTerm = prev.terms.at(-1) ?? prev.prevTerm;
      if (s.firstIndex !== expected) {
        return {
          at,
          problem: { kind: "corrupt", offset: 0, index: expected, reason: `segment should start at index ${expected}` },
        };
      }
      if (!s.problem && s.prevTerm !== prevTerm) {
        return {
          at,
          problem: {
            kind: "corrupt",
            offset: 0,
            index: expected,
            reason: `header says previous term ${s.prevTerm}, log has ${prevTerm}`,
          },
        };
      }
    }
    if (s.problem) {
      const newest = at === scans.length - 1;
      return { at, problem: newest ? s.problem : { ...s.problem, kind: "corrupt" } };
    }
  }
  return undefined;
}

function corruptionMessage(path: string, p: SegmentProblem): string {
  return (
    `log segment ${path} is corrupt at byte ${p.offset} (index ${p.index}): ${p.reason}. ` +
    `Open it with repair to cut the log there and catch up from the leader; the node will not vote or lead until it has.`
  );
}

/**
 * Where the log disagrees with a snapshot at `snapIndex`: it starts after the snapshot's next
 * index, ends before the snapshot's index, or holds another term there. Never left by a crash
 * (saveSnapshot waits for the log, installSnapshot goes through its intent), so it is corruption.
 */
export function snapshotMismatch(
  scans: readonly ScannedSegment[],
  snapIndex: number,
  snapTerm: number,
  hasSnapshot: boolean,
): Cut | undefined {
  const head = scans[0];
  const tail = scans.at(-1);
  if (head === undefined || tail === undefined) return undefined;
  const first = head.firstIndex;
  const last = tail.firstIndex + tail.terms.length - 1;
  const problem = (offset: number, index: number, reason: string): SegmentProblem => ({
    kind: "corrupt",
    offset,
    index,
    reason,
  });
  if (first > snapIndex + 1) {
    const reason = hasSnapshot
      ? `the log starts at index ${first}, after the snapshot's last index ${snapIndex}`
      : `the log starts at index ${first} and there is no snapshot`;
    return { at: 0, problem: problem(0, snapIndex + 1, reason) };
  }
  if (last < snapIndex) {
    return {
      at: scans.length - 1,
      problem: problem(
        tail.soundEnd,
        last + 1,
        `the log ends at index ${last}, before the snapshot's index ${snapIndex}`,
      ),
    };
  }
  if (snapIndex < first) {
    return head.prevTerm === snapTerm
      ? undefined
      : {
          at: 0,
          problem: problem(0, first, `the log's previous term is ${head.prevTerm}, the snapshot's term is ${snapTerm}`),
        };
  }
  for (let at = 0; at < scans.length; at++) {
    const s = scans[at] as ScannedSegment;
    const k = snapIndex - s.firstIndex;
    if (k < 0 || k >= s.terms.length) continue;
    if (s.terms[k] === snapTerm) return undefined;
    return {
      at,
      problem: problem(
        s.positions[k] as number,
        snapIndex,
        `term ${s.terms[k]} at the snapshot's index, the snapshot's term is ${snapTerm}`,
      ),
    };
  }
  return undefined;
}

/**
 * Loads the hard state, the snapshot and the log of a data folder (already locked), cutting a
 * torn tail, and with `repair` a corrupt log, so that what remains is a sound log. An unfinished
 * install is finished when its snapshot is in place (the log is emptied here and refilled by the
 * store from the intent's history) and dropped otherwise.
 */
export async function recoverLog(fs: Fs, layout: DataLayout, repair: boolean): Promise<RecoveredLog> {
  fs.mkdir(layout.logDir);
  for (const name of fs.readdir(layout.dir))
    if (name.endsWith(TEMP_SUFFIX)) unlinkIfPresent(fs, join(layout.dir, name));
  // A process killed (not a power loss) between renaming a state file into place and fsyncing the folder leaves the
  // rename in the page cache only: make it durable before this start acts on it (a term, a vote, a snapshot that
  // segments are then compacted under), as a power loss after the start would otherwise bring back the old file.
  fs.syncDirSync(layout.dir);
  const hardState = loadState(fs, layout.hardState, decodeHardState) ?? { term: 0, vote: 0, commit: 0 };
  const snapshotFile = readWholeFile(fs, layout.snapshot);
  let snapshot = snapshotFile === undefined ? undefined : decodeSnapshot(layout.snapshot, snapshotFile);
  let damage = loadState(fs, layout.damage, decodeDamage);
  const intent = readInstallIntent(fs, layout.installing);
  const report: RecoveryReport = { strays: [], commitBeyondLog: false };

  const listed = listSegments(fs, layout.logDir);
  report.strays = listed.strays;
  if (intent !== undefined) {
    if (installReachedSnapshot(intent, snapshot, snapshotFile && sealedChecksum(snapshotFile))) {
      // Whatever the log folder holds (old segments, some of the new ones, torn or not) is replaced.
      for (const s of listed.segments) unlinkIfPresent(fs, join(layout.logDir, s.name));
      if (listed.segments.length > 0) fs.syncDirSync(layout.logDir);
      report.finishedInstall = { index: intent.index, entries: intent.history.count };
      report.commitBeyondLog = hardState.commit > intent.index;
      const index = new IndexTable(intent.index + 1);
      return {
        segments: [],
        index,
        prevTerm: intent.term,
        hardState,
        snapshot,
        damage,
        report,
        unfinishedInstall: intent.history,
      };
    }
    // The old snapshot is in place, so the install never touched the log: forget it.
    unlinkIfPresent(fs, layout.installing);
    fs.syncDirSync(layout.dir);
    report.droppedInstall = { index: intent.index, term: intent.term };
  }

  let scans = listed.segments.map((s) => scanSegment(fs, layout.logDir, s.name, s.firstIndex));
  const highestSeen = Math.max(
    0,
    ...scans.map((s) => Math.max(s.firstIndex + s.terms.length - 1, s.highestBeyond ?? 0)),
  );
  const highestTermSeen = Math.max(0, ...scans.map((s) => s.terms.at(-1) ?? s.prevTerm));
  const snapIndex = snapshot?.meta.index ?? 0;
  const snapTerm = snapshot?.meta.term ?? 0;
  const allScans = scans;
  // The term of the entry at `index` as the files held it before any cut, where a sound record (or the snapshot) says.
  const termHeldAt = (index: number): number | undefined => {
    if (index === snapIndex && snapshot !== undefined) return snapTerm;
    for (const s of allScans) {
      if (index >= s.firstIndex && index < s.firstIndex + s.terms.length) return s.terms[index - s.firstIndex];
      if (index === s.highestBeyond && s.highestBeyondTerm !== undefined) return s.highestBeyondTerm;
    }
    return undefined;
  };
  // Files are cut and deleted only once the damage marker (if any) is durable: a crash in between must not lose
  // what the marker says the node may have acknowledged. The decisions are made on `scans` at once.
  const pending: (() => void)[] = [];
  let removedAny = false;
  const remove = (from: number): void => {
    for (let i = scans.length - 1; i >= from; i--) {
      const path = (scans[i] as ScannedSegment).path;
      pending.push(() => unlinkIfPresent(fs, path));
    }
    removedAny ||= from < scans.length;
    scans = scans.slice(0, from);
  };
  const markDamaged = (file: string, p: SegmentProblem, atLeast = 0): void => {
    // Everything the node may have acknowledged: every index its files held, the commit, the snapshot.
    const untilIndex = Math.max(highestSeen, hardState.commit, snapIndex, atLeast, damage?.untilIndex ?? 0);
    // The floor is the lost log's last entry (docs/storage.md "Repair"): a candidate at least as up to date as it is
    // as up to date as the log this node voted and acknowledged with. When that entry's term cannot be read, every
    // acknowledgement was still in a term no later than the one the node saved before sending it.
    const lastTerm = termHeldAt(untilIndex);
    const aboveTerm = Math.max(
      lastTerm ?? Math.max(hardState.term, highestTermSeen),
      snapshot?.meta.term ?? 0,
      damage?.aboveTerm ?? 0,
    );
    damage = {
      fromIndex: Math.min(p.index, damage?.fromIndex ?? p.index),
      untilIndex,
      file,
      offset: p.offset,
      reason: p.reason,
      aboveTerm,
    };
    report.repaired = damage;
  };

  const cut = findCut(scans);
  if (cut) {
    const seg = scans[cut.at] as ScannedSegment;
    if (cut.problem.kind === "corrupt") {
      if (!repair) throw new MqraftError("CORRUPT", corruptionMessage(seg.path, cut.problem));
      markDamaged(seg.path, cut.problem);
    } else if (cut.problem.offset === 0) {
      report.removedSegment = seg.path;
    } else {
      report.tornTail = {
        file: seg.path,
        offset: cut.problem.offset,
        bytes: seg.size - cut.problem.offset,
        reason: cut.problem.reason,
      };
    }
    if (cut.problem.offset === 0) {
      remove(cut.at);
    } else {
      remove(cut.at + 1);
      const offset = cut.problem.offset;
      pending.push(() => {
        const fd = fs.open(seg.path, "r+");
        try {
          fs.truncate(fd, offset);
          fs.datasyncSync(fd);
        } finally {
          fs.close(fd);
        }
      });
    }
  }

  const mismatch = snapshotMismatch(scans, snapIndex, snapTerm, snapshot !== undefined);
  if (mismatch) {
    const seg = scans[mismatch.at] as ScannedSegment;
    if (!repair) throw new MqraftError("CORRUPT", corruptionMessage(seg.path, mismatch.problem));
    markDamaged(seg.path, mismatch.problem);
  }
  if (snapshot !== undefined && report.repaired !== undefined && report.repaired.fromIndex <= snapIndex) {
    // The log is the message store: the snapshot's state reads retained messages from entries at or below its
    // index, and the repair lost some of them. Keeping it would serve a topic with a hole; dropping it (and a log
    // that then does not start at index 1) lets the leader send everything again.
    pending.push(() => {
      unlinkIfPresent(fs, layout.snapshot);
      fs.syncDirSync(layout.dir);
    });
    report.droppedSnapshot = snapIndex;
    snapshot = undefined;
    if ((scans[0]?.firstIndex ?? 1) !== 1) remove(0);
    // Damaged until a leader has sent at least one entry past what is kept: it replaces any entry that disagrees.
    const kept =
      scans.length === 0
        ? 0
        : (scans.at(-1) as ScannedSegment).firstIndex + (scans.at(-1) as ScannedSegment).terms.length - 1;
    markDamaged(
      report.repaired.file,
      {
        kind: "corrupt",
        offset: report.repaired.offset,
        index: report.repaired.fromIndex,
        reason: report.repaired.reason,
      },
      kept + 1,
    );
  } else if (mismatch) {
    remove(0);
  }
  if (report.repaired) await writeFileAtomic(fs, layout.dir, layout.damage, encodeDamage(report.repaired));
  for (const act of pending) act();
  if (removedAny) fs.syncDirSync(layout.logDir);

  const index = new IndexTable(scans[0]?.firstIndex ?? (snapshot?.meta.index ?? 0) + 1);
  for (const s of scans)
    for (let i = 0; i < s.terms.length; i++) index.push(s.terms[i] as number, s.positions[i] as number);
  report.commitBeyondLog = hardState.commit > index.lastIndex;
  return {
    segments: scans.map((s) => ({ firstIndex: s.firstIndex, path: s.path })),
    index,
    prevTerm: scans[0]?.prevTerm ?? snapshot?.meta.term ?? 0,
    hardState,
    snapshot,
    damage,
    report,
    unfinishedInstall: undefined,
  };
}
