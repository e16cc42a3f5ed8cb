import { describeError } from "../util/errors.ts";
import { lockHolder } from "./data-lock.ts";
import { type Fs, readWholeFile } from "./fs.ts";
import { installReachedSnapshot } from "./install-intent.ts";
import { type IntentOnDisk, readInstallIntent } from "./intent-reader.ts";
import { dataLayout } from "./layout.ts";
import { findCut, snapshotMismatch } from "./log-recovery.ts";
import { RealFs } from "./real-fs.ts";
import { sealedChecksum } from "./sealed-file.ts";
import { listSegments, type ScannedSegment, scanSegment } from "./segment-scan.ts";
import { decodeDamage, decodeHardState, decodeSnapshot } from "./state-files.ts";

export interface InspectionReport {
  lines: string[];
  /** false when something would stop the broker from starting or needs a repair. */
  healthy: boolean;
}

/**
 * What `mqraft inspect <data-folder>` prints: the lock, the hard state, the snapshot, each segment
 * with its index range, and every bad record with what recovery would do about it. Reads only: it
 * takes no lock and changes nothing.
 */
export function inspectDataFolder(dir: string, fs: Fs = new RealFs()): InspectionReport {
  const layout = dataLayout(dir);
  const lines = [`data folder ${dir}`];
  let healthy = true;
  /** One line for a file: what `read` finds, "none" (when `none` is given) or why it is bad. */
  const fileLine = <T>(
    label: string,
    read: () => T | undefined,
    show: (v: T) => string,
    none?: string,
  ): T | undefined => {
    try {
      const value = read();
      if (value !== undefined) lines.push(`${label}: ${show(value)}`);
      else if (none !== undefined) lines.push(`${label}: ${none}`);
      return value;
    } catch (e) {
      healthy = false;
      lines.push(`${label}: BAD — ${describeError(e)}`);
      return undefined;
    }
  };
  const stateFile = <T>(
    label: string,
    path: string,
    decode: (p: string, b: Uint8Array) => T,
    show: (v: T) => string,
  ): T | undefined =>
    fileLine(
      label,
      () => {
        const bytes = readWholeFile(fs, path);
        return bytes === undefined ? undefined : decode(path, bytes);
      },
      show,
      "none",
    );

  const lock = lockHolder(fs, layout.lock);
  lines.push(`lock: ${lock.held ? `held by running process ${lock.pid ?? "(unknown)"}` : "free"}`);
  const hard = stateFile(
    "hard state",
    layout.hardState,
    decodeHardState,
    (h) => `term ${h.term}, vote ${h.vote || "none"}, commit ${h.commit}`,
  );
  const snapFile = stateFile(
    "snapshot",
    layout.snapshot,
    (p, b) => ({ s: decodeSnapshot(p, b), checksum: sealedChecksum(b) }),
    ({ s }) => {
      const m = s.meta.membership;
      return `index ${s.meta.index}, term ${s.meta.term}, voters [${m.voters.join(",")}], learners [${m.learners.join(",")}], ${s.data.length} bytes of state`;
    },
  );
  stateFile("damage marker", layout.damage, decodeDamage, (d) => {
    return `repaired log cut at index ${d.fromIndex} (${d.file} byte ${d.offset}: ${d.reason}); must not vote or lead until durable past ${d.untilIndex}${d.aboveTerm === undefined ? "" : `, but for a candidate at least as up to date as (term ${d.aboveTerm}, index ${d.untilIndex})`}`;
  });

  const snap = snapFile?.s;
  // Only shown when present: an installSnapshot that a crash interrupted.
  const reached = (i: IntentOnDisk): boolean => installReachedSnapshot(i, snap, snapFile?.checksum);
  // its history is read a chunk at a time (it may hold all the leader retained), never whole
  const intent = fileLine(
    "install intent",
    () => readInstallIntent(fs, layout.installing),
    (i) => {
      const { count, first } = i.history;
      const what = `snapshot at index ${i.index}, term ${i.term} with ${count === 0 ? "no log entries" : `log entries ${first}..${i.index}`}`;
      return reached(i)
        ? `unfinished install of a ${what}; its snapshot is in place, so the next start replaces the log with its entries`
        : `unfinished install of a ${what}; its snapshot never got in place, so the next start drops it and keeps the log`;
    },
  );
  const finishing = intent !== undefined && reached(intent);

  let scans: ScannedSegment[];
  let strays: string[];
  try {
    const listed = listSegments(fs, layout.logDir);
    strays = listed.strays;
    scans = listed.segments.map((s) => scanSegment(fs, layout.logDir, s.name, s.firstIndex));
  } catch (e) {
    lines.push(`log: cannot read ${layout.logDir} — ${describeError(e)}`);
    return { lines, healthy: false };
  }
  const held = scans.reduce((n, s) => n + s.terms.length, 0);
  const first = scans[0]?.firstIndex;
  lines.push(
    first === undefined ? "log: no segments" : `log: ${scans.length} segment(s), entries ${first}..${first + held - 1}`,
  );
  for (const s of scans) {
    const range =
      s.terms.length === 0
        ? "no entries"
        : `entries ${s.firstIndex}..${s.firstIndex + s.terms.length - 1}, terms ${s.terms[0]}..${s.terms.at(-1)}`;
    lines.push(`  ${s.name}  ${range}, ${s.size} bytes`);
  }
  for (const name of strays) lines.push(`  stray file ${name} (not a segment; ignored)`);

  if (finishing) {
    lines.push("  (not checked: the unfinished install replaces these segments)");
  } else {
    if (!judgeLog(lines, scans, snap?.meta.index ?? 0, snap?.meta.term ?? 0, snap !== undefined)) healthy = false;
  }
  const last = finishing ? (snap?.meta.index ?? 0) : first === undefined ? undefined : first + held - 1;
  if (hard !== undefined && last !== undefined && hard.commit > last) {
    lines.push(`  note: commit index ${hard.commit} is beyond the log; the node catches up from the leader`);
  }
  lines.push(`healthy: ${healthy ? "yes" : "no"}`);
  return { lines, healthy };
}

/** Adds what recovery would do about a torn tail or corruption; false when the broker would refuse to start. */
function judgeLog(
  lines: string[],
  scans: ScannedSegment[],
  snapIndex: number,
  snapTerm: number,
  hasSnapshot: boolean,
): boolean {
  let healthy = true;
  for (const cut of [findCut(scans), snapshotMismatch(scans, snapIndex, snapTerm, hasSnapshot)]) {
    if (cut === undefined) continue;
    const s = scans[cut.at] as ScannedSegment;
    const where = `${s.name} byte ${cut.problem.offset} (index ${cut.problem.index}): ${cut.problem.reason}`;
    if (cut.problem.kind === "torn") {
      lines.push(
        `  torn tail at ${where} — never acknowledged; recovery cuts it (${s.size - cut.problem.offset} bytes)`,
      );
    } else {
      healthy = false;
      lines.push(
        `  CORRUPT at ${where} — the broker refuses to start; start it with repair to cut the log there and catch up from the leader`,
      );
    }
  }
  return healthy;
}
