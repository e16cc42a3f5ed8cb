import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import { inspectDataFolder } from "../../src/storage/inspect.ts";
import { encodeInstallIntent, installIntent } from "../../src/storage/install-intent.ts";
import { SEGMENT_HEADER_SIZE } from "../../src/storage/record-codec.ts";
import { writeFileAtomic } from "../../src/storage/sealed-file.ts";
import { encodeSnapshot } from "../../src/storage/state-files.ts";
import { MqraftError } from "../../src/util/errors.ts";
import { createPrng } from "../../src/util/prng.ts";
import { logOf, REC, rejection, snapshotAt, useStorageEnv } from "./log-store.case.ts";
import {
  describeEntries,
  exists,
  fileBytes,
  flipBit,
  makeEntries,
  type StorageEnv,
  segmentPaths,
  setFileBytes,
} from "./storage-env.ts";

/** Recovery from damage done to the files while the broker was down, against any Fs. */
export function recoveryCases(label: string, makeEnv: () => Promise<StorageEnv>): void {
  describe(`recovery (${label})`, () => {
    const { env, open } = useStorageEnv(makeEnv);

    /** Writes entries 1..n durably, closes the store, and returns the newest segment's path and bytes. */
    async function writeLog(n: number, maxSegmentBytes?: number): Promise<{ path: string; bytes: Uint8Array }> {
      const s = await open(maxSegmentBytes ? { maxSegmentBytes } : {});
      s.append(makeEntries(1, n, 1));
      await s.sync();
      await s.close();
      const path = segmentPaths(env().fs, env().dir).at(-1) as string;
      return { path, bytes: fileBytes(env().fs, path) };
    }

    test("the last record cut at every byte offset is removed, and nothing before it", async () => {
      const { path, bytes } = await writeLog(5);
      const start = bytes.length - REC;
      for (let cut = start; cut < bytes.length; cut++) {
        setFileBytes(env().fs, path, bytes.subarray(0, cut));
        const s = await open();
        expect({ cut, log: logOf(s) }).toEqual({ cut, log: describeEntries(makeEntries(1, 4, 1)) });
        expect(s.recovery.tornTail?.offset).toBe(cut === start ? undefined : start);
        s.append(makeEntries(5, 5, 2));
        await s.sync();
        await s.close();
        const again = await open();
        expect({ cut, log: logOf(again) }).toEqual({
          cut,
          log: describeEntries([...makeEntries(1, 4, 1), ...makeEntries(5, 5, 2)]),
        });
        await again.close();
      }
    });

    test("junk or zeros appended after the last record are cut", async () => {
      const { path, bytes } = await writeLog(5);
      const junk = new Uint8Array(100);
      const prng = createPrng(7);
      for (let i = 0; i < junk.length; i++) junk[i] = prng.int(0, 255);
      for (const tail of [junk, new Uint8Array(100)]) {
        setFileBytes(env().fs, path, new Uint8Array([...bytes, ...tail]));
        const s = await open();
        expect(logOf(s)).toEqual(describeEntries(makeEntries(1, 5, 1)));
        expect(s.recovery.tornTail).toMatchObject({ file: path, offset: bytes.length, bytes: 100 });
        s.append(makeEntries(6, 6, 1));
        await s.sync();
        await s.close();
        const again = await open();
        expect(logOf(again)).toEqual(describeEntries(makeEntries(1, 6, 1)));
        await again.close();
        restoreLog(path, bytes);
      }
    });

    /** Puts the newest segment back as it was before a test changed it. */
    function restoreLog(path: string, bytes: Uint8Array): void {
      for (const p of segmentPaths(env().fs, env().dir)) if (p > path) env().fs.unlink(p);
      setFileBytes(env().fs, path, bytes);
    }

    test("a bit flipped anywhere in the last record is corruption: the start is refused, a repair waits for it", async () => {
      // The last record was fsynced (and may have been acknowledged): a write torn by a power loss ends the file
      // inside the record or leaves a sector of it unwritten (zeros), never a whole record with one bit wrong.
      const { path, bytes } = await writeLog(5, 1 << 20);
      const start = bytes.length - REC;
      for (let offset = start; offset < bytes.length; offset++) {
        setFileBytes(env().fs, path, bytes);
        flipBit(env().fs, path, offset, offset % 8);
        const e = await rejection(open());
        expect({ offset, message: (e as Error).message }).toEqual({
          offset,
          message: expect.stringContaining(`log segment ${path} is corrupt at byte ${start} (index 5)`),
        });
        const s = await open({ repair: true });
        expect({ offset, log: logOf(s), until: s.damage?.untilIndex }).toEqual({
          offset,
          log: describeEntries(makeEntries(1, 4, 1)),
          until: 5,
        });
        await s.close();
        env().fs.unlink(join(env().dir, "damaged"));
      }
    });

    test("the last record with a sector never written (zeros) is a torn write, cut without repair", async () => {
      const { path, bytes } = await writeLog(5, 1 << 20);
      const start = bytes.length - REC;
      // every sector-aligned run of zeros a lost sector could leave in the record: from a 512-byte boundary (or the
      // record's start) to the end of the file
      const boundaries = [start];
      for (let b = start - (start % 512) + 512; b < bytes.length; b += 512) boundaries.push(b);
      for (const from of boundaries) {
        const torn = bytes.slice();
        torn.fill(0, from);
        setFileBytes(env().fs, path, torn);
        const s = await open();
        expect({ from, log: logOf(s), damage: s.damage }).toEqual({
          from,
          log: describeEntries(makeEntries(1, 4, 1)),
          damage: undefined,
        });
        expect(s.recovery.tornTail?.offset).toBe(start);
        await s.close();
      }
    });

    test("the last record whose first sector never reached the disk, its length field alone there, is torn", async () => {
      // a record whose length field fills the last 4 bytes of a sector: losing that sector zeroes the field only, and
      // the checksum, in the next sector, still holds with the record's true length (the simulator found it)
      let n = 2;
      while ((SEGMENT_HEADER_SIZE + (n - 1) * REC) % 512 !== 508) n++;
      const { path, bytes } = await writeLog(n, 1 << 20);
      const start = bytes.length - REC;
      expect(start % 512).toBe(508);
      const torn = bytes.slice();
      torn.fill(0, start, start - (start % 512) + 512);
      setFileBytes(env().fs, path, torn);
      const s = await open();
      expect({ log: logOf(s), damage: s.damage }).toEqual({
        log: describeEntries(makeEntries(1, n - 1, 1)),
        damage: undefined,
      });
      expect(s.recovery.tornTail?.offset).toBe(start);
      await s.close();
    });

    test("an older segment that ends inside its last record is corruption, not a torn tail", async () => {
      // it was fsynced before the next segment began: what the scan would call torn in the newest segment is damage here
      await writeLog(9);
      const [first] = segmentPaths(env().fs, env().dir) as [string];
      const bytes = fileBytes(env().fs, first);
      setFileBytes(env().fs, first, bytes.subarray(0, bytes.length - 10));
      const e = await rejection(open());
      expect(e).toBeInstanceOf(MqraftError);
      expect((e as MqraftError).code).toBe("CORRUPT");
      expect((e as MqraftError).message).toContain(`log segment ${first} is corrupt at byte ${bytes.length - REC}`);
    });

    test("a bit flipped in an older segment stops the open with an error naming file and offset", async () => {
      await writeLog(9);
      const [first] = segmentPaths(env().fs, env().dir) as [string];
      const offset = SEGMENT_HEADER_SIZE + REC;
      flipBit(env().fs, first, offset + 30);
      const e = await rejection(open());
      expect(e).toBeInstanceOf(MqraftError);
      expect((e as MqraftError).code).toBe("CORRUPT");
      expect((e as MqraftError).message).toContain(`log segment ${first} is corrupt at byte ${offset} (index 2)`);
      const report = inspectDataFolder(env().dir, env().fs);
      expect(report.healthy).toBe(false);
      expect(report.lines.join("\n")).toContain(`CORRUPT at 00000000000000000001.seg byte ${offset} (index 2)`);
    });

    test("a bit flipped in the last record of an older segment is corruption too, not a torn tail", async () => {
      // nothing sound follows the bad record inside its segment: only its place (not the newest) says it was fsynced
      await writeLog(9, SEGMENT_HEADER_SIZE + 3 * REC);
      const [first] = segmentPaths(env().fs, env().dir) as [string];
      const offset = SEGMENT_HEADER_SIZE + 2 * REC;
      flipBit(env().fs, first, offset + 30);
      const e = await rejection(open());
      expect({ code: (e as MqraftError).code, message: (e as MqraftError).message }).toMatchObject({
        code: "CORRUPT",
        message: expect.stringContaining(`log segment ${first} is corrupt at byte ${offset} (index 3)`),
      });
    });

    test("repair cuts a corrupt log, marks the node damaged until it has caught up, and survives restarts", async () => {
      await writeLog(9);
      const [first] = segmentPaths(env().fs, env().dir) as [string];
      flipBit(env().fs, first, SEGMENT_HEADER_SIZE + REC + 30);
      const a = await open({ repair: true });
      expect(logOf(a)).toEqual(describeEntries(makeEntries(1, 1, 1)));
      expect(a.damage).toMatchObject({ fromIndex: 2, untilIndex: 9, file: first, offset: SEGMENT_HEADER_SIZE + REC });
      expect(a.recovery.repaired).toEqual(a.damage);
      expect(segmentPaths(env().fs, env().dir)).toEqual([first]);
      await a.close();

      const b = await open();
      expect(b.damage?.untilIndex).toBe(9);
      // entries of the term it was repaired in (1) end the damage only at index 9; one of a later term ends it at once
      b.append(makeEntries(2, 8, 1));
      await b.sync();
      expect(b.damage).toMatchObject({ untilIndex: 9, aboveTerm: 1 });
      b.append(makeEntries(9, 9, 1));
      await b.sync();
      expect(b.damage).toBeUndefined();
      expect(exists(env().fs, join(env().dir, "damaged"))).toBe(false);
      await b.close();
      const healthy = await open();
      expect(healthy.damage).toBeUndefined();
      await healthy.close();

      flipBit(env().fs, first, SEGMENT_HEADER_SIZE + REC + 30);
      const c = await open({ repair: true });
      expect(c.damage).toMatchObject({ fromIndex: 2, untilIndex: 9, aboveTerm: 1 });
      c.append(makeEntries(2, 2, 2));
      await c.sync();
      expect(c.damage).toBeUndefined();
      await c.close();
    });

    test("a repair's vote floor is the lost log's last entry when it is readable, else the saved term", async () => {
      // Seed 11839 of the core simulation: entries of term 1 and a hard-state term of 7 (elections that appended
      // nothing). A floor at term 7 refuses every candidate holding the lost log, which may leave no leader at all.
      const s = await open({ maxSegmentBytes: 1 << 20 });
      s.append(makeEntries(1, 9, 1));
      s.saveHardState({ term: 7, vote: 2, commit: 3 });
      await s.sync();
      await s.close();
      const [path] = segmentPaths(env().fs, env().dir) as [string];
      const bytes = fileBytes(env().fs, path);
      flipBit(env().fs, path, SEGMENT_HEADER_SIZE + REC + 30);
      const a = await open({ repair: true });
      expect(a.damage).toMatchObject({ fromIndex: 2, untilIndex: 9, aboveTerm: 1 });
      await a.close();

      // The last record unreadable too: its term is unknown, and the saved term bounds it.
      env().fs.unlink(join(env().dir, "damaged"));
      setFileBytes(env().fs, path, bytes);
      flipBit(env().fs, path, SEGMENT_HEADER_SIZE + REC + 30);
      flipBit(env().fs, path, bytes.length - 3);
      const b = await open({ repair: true });
      expect(b.damage).toMatchObject({ fromIndex: 2, aboveTerm: 7 });
      expect(b.damage?.untilIndex).toBeGreaterThanOrEqual(9);
      await b.close();
    });

    test("a damaged record followed by sound ones in the newest segment is corruption, not a torn tail", async () => {
      const { path } = await writeLog(5, 1 << 20);
      flipBit(env().fs, path, SEGMENT_HEADER_SIZE + REC + 30);
      await expect(open()).rejects.toThrow(
        `log segment ${path} is corrupt at byte ${SEGMENT_HEADER_SIZE + REC} (index 2)`,
      );
    });

    test("a newest segment created but not written, or with a torn header, is removed", async () => {
      await writeLog(3);
      const next = join(env().dir, "log", "00000000000000000004.seg");
      for (const content of [
        new Uint8Array(0),
        new Uint8Array(SEGMENT_HEADER_SIZE - 3).fill(9),
        new Uint8Array(SEGMENT_HEADER_SIZE + 40),
      ]) {
        const fd = env().fs.open(next, "wx");
        env().fs.write(fd, content, 0);
        env().fs.close(fd);
        const s = await open();
        expect(s.recovery.removedSegment).toBe(next);
        expect(logOf(s)).toEqual(describeEntries(makeEntries(1, 3, 1)));
        expect(exists(env().fs, next)).toBe(false);
        await s.close();
      }
      const s = await open();
      s.append(makeEntries(4, 4, 1));
      await s.sync();
      expect(exists(env().fs, next)).toBe(true);
    });

    test("segments that do not follow each other are corruption", async () => {
      await writeLog(9);
      const [, middle, last] = segmentPaths(env().fs, env().dir) as [string, string, string];
      env().fs.unlink(middle);
      await expect(open()).rejects.toThrow(
        `log segment ${last} is corrupt at byte 0 (index 4): segment should start at index 4`,
      );
    });

    test("damaged hard-state and snapshot files are errors naming the file", async () => {
      const a = await open();
      a.append(makeEntries(1, 3, 1));
      a.saveHardState({ term: 1, vote: 1, commit: 3 });
      await a.sync();
      await a.saveSnapshot(snapshotAt(3, 1));
      await a.close();
      for (const name of ["hardstate", "snapshot"]) {
        const path = join(env().dir, name);
        const good = fileBytes(env().fs, path);
        flipBit(env().fs, path, good.length - 2);
        const e = await rejection(open());
        expect((e as MqraftError).code).toBe("CORRUPT");
        expect((e as MqraftError).message).toBe(`${path} is damaged: checksum mismatch`);
        setFileBytes(env().fs, path, good);
      }
      expect((await open()).hardState()).toEqual({ term: 1, vote: 1, commit: 3 });
    });

    test("the inspector lists segments, hard state, snapshot and a torn tail", async () => {
      const a = await open();
      a.append([...makeEntries(1, 2, 1), ...makeEntries(3, 4, 2)]);
      a.saveHardState({ term: 2, vote: 1, commit: 4 });
      await a.sync();
      await a.saveSnapshot(snapshotAt(2, 1));
      await a.close();
      const newest = segmentPaths(env().fs, env().dir).at(-1) as string;
      const bytes = fileBytes(env().fs, newest);
      setFileBytes(env().fs, newest, bytes.subarray(0, bytes.length - 3));
      const report = inspectDataFolder(env().dir, env().fs);
      expect(report.lines).toEqual([
        `data folder ${env().dir}`,
        "lock: free",
        "hard state: term 2, vote 1, commit 4",
        `snapshot: index 2, term 1, voters [1,2,3], learners [4], 5 bytes of state`,
        "damage marker: none",
        "log: 2 segment(s), entries 1..3",
        `  00000000000000000001.seg  entries 1..3, terms 1..2, ${SEGMENT_HEADER_SIZE + 3 * REC} bytes`,
        `  00000000000000000004.seg  no entries, ${SEGMENT_HEADER_SIZE + REC - 3} bytes`,
        `  torn tail at 00000000000000000004.seg byte ${SEGMENT_HEADER_SIZE} (index 4): record cut short (${REC - 3} of ${REC} bytes) — never acknowledged; recovery cuts it (${REC - 3} bytes)`,
        "  note: commit index 4 is beyond the log; the node catches up from the leader",
        "healthy: yes",
      ]);
    });

    test("an unfinished install is finished at the start when its snapshot is in place, and dropped when it is not", async () => {
      const history = { prevTerm: 2, entries: makeEntries(15, 20, 4, 10, 3) };
      const snapshot = snapshotAt(20, 4, "leader state");
      const { fs, dir } = env();
      for (const snapshotInPlace of [false, true]) {
        await writeLog(12);
        const snapshotFile = encodeSnapshot(snapshot);
        await writeFileAtomic(
          fs,
          dir,
          join(dir, "installing"),
          encodeInstallIntent(installIntent(snapshot, snapshotFile, history)),
        );
        if (snapshotInPlace) await writeFileAtomic(fs, dir, join(dir, "snapshot"), snapshotFile);
        const report = inspectDataFolder(dir, fs);
        expect(report.healthy).toBe(true);
        expect(report.lines).toContain(
          snapshotInPlace
            ? "install intent: unfinished install of a snapshot at index 20, term 4 with log entries 15..20; its snapshot is in place, so the next start replaces the log with its entries"
            : "install intent: unfinished install of a snapshot at index 20, term 4 with log entries 15..20; its snapshot never got in place, so the next start drops it and keeps the log",
        );
        const s = await open();
        if (snapshotInPlace) {
          expect([s.recovery.finishedInstall, s.recovery.droppedInstall]).toEqual([
            { index: 20, entries: 6 },
            undefined,
          ]);
          expect([logOf(s), s.term(14), s.snapshot()?.meta.index]).toEqual([describeEntries(history.entries), 2, 20]);
        } else {
          expect([s.recovery.droppedInstall, s.recovery.finishedInstall]).toEqual([{ index: 20, term: 4 }, undefined]);
          expect([logOf(s), s.snapshot()]).toEqual([describeEntries(makeEntries(1, 12, 1)), undefined]);
        }
        expect(exists(fs, join(dir, "installing"))).toBe(false);
        await s.close();
        for (const p of segmentPaths(fs, dir)) fs.unlink(p);
      }
    });

    test("a log that ends before the snapshot or holds another term at its index is corruption; repair drops the snapshot, keeps the log", async () => {
      const { fs, dir } = env();
      for (const [snapshot, why, untilIndex] of [
        [snapshotAt(8, 1), "the log ends at index 5, before the snapshot's index 8", 8],
        [snapshotAt(3, 7), "term 1 at the snapshot's index, the snapshot's term is 7", 6],
      ] as const) {
        await writeLog(5);
        await writeFileAtomic(fs, dir, join(dir, "snapshot"), encodeSnapshot(snapshot));
        const e = await rejection(open());
        expect({ code: (e as MqraftError).code, message: (e as MqraftError).message }).toMatchObject({
          code: "CORRUPT",
          message: expect.stringContaining(why),
        });
        expect(inspectDataFolder(dir, fs).lines.join("\n")).toContain(`CORRUPT at`);
        // The log is the message store: a snapshot whose entries are not all there cannot serve its retained
        // messages, so it goes, and the node waits for the leader to send everything past the log it keeps.
        const s = await open({ repair: true });
        expect([s.snapshot(), exists(fs, join(dir, "snapshot")), s.recovery.droppedSnapshot]).toEqual([
          undefined,
          false,
          snapshot.meta.index,
        ]);
        expect(logOf(s)).toEqual(describeEntries(makeEntries(1, 5, 1)));
        expect([s.damage?.untilIndex, exists(fs, join(dir, "damaged"))]).toEqual([untilIndex, true]);
        await s.close();
        for (const name of ["damaged", "hardstate"]) if (exists(fs, join(dir, name))) fs.unlink(join(dir, name));
        for (const path of segmentPaths(fs, dir)) fs.unlink(path);
      }
    });

    test("a corrupt record below the snapshot's index: repair drops the snapshot, keeps the log before the record, and waits for everything the files held", async () => {
      const { fs, dir } = env();
      const { path } = await writeLog(12, 1 << 20);
      await writeFileAtomic(fs, dir, join(dir, "snapshot"), encodeSnapshot(snapshotAt(9, 1)));
      flipBit(fs, path, SEGMENT_HEADER_SIZE + 3 * REC + 30);
      const s = await open({ repair: true });
      expect(s.snapshot()).toBeUndefined();
      expect(logOf(s)).toEqual(describeEntries(makeEntries(1, 3, 1)));
      expect(s.damage).toMatchObject({ fromIndex: 4, untilIndex: 12 });
      await s.close();
    });
  });
}
