import { describe, expect, test } from "bun:test";
import type { Entry } from "../../src/raft/log-types.ts";
import { encodeInstallIntent, installIntent, installReachedSnapshot } from "../../src/storage/install-intent.ts";
import { readInstallIntent } from "../../src/storage/intent-reader.ts";
import { sealParts } from "../../src/storage/sealed-file.ts";
import { SimFs } from "../../src/storage/sim-fs.ts";
import { decodeSnapshot, encodeSnapshot } from "../../src/storage/state-files.ts";
import { encode } from "../../src/util/cbor-x.ts";
import { snapshotAt } from "./log-store.case.ts";
import { describeEntries, makeEntries } from "./storage-env.ts";

const join = (parts: Uint8Array[]): Uint8Array => new Uint8Array(parts.flatMap((p) => [...p]));
const PATH = "/d/installing";

/**
 * The intent file holding `bytes`, read back as recovery reads it (`chunkBytes` at a time: small, so that records
 * cross chunk boundaries and one is larger than a chunk), with its history read out whole for comparing.
 */
function decodeInstallIntent(path: string, bytes: Uint8Array, chunkBytes = 64) {
  const fs = new SimFs();
  fs.mkdir("/d");
  const fd = fs.open(path, "w");
  fs.write(fd, bytes, 0);
  fs.close(fd);
  const intent = readInstallIntent(fs, path, chunkBytes);
  if (intent === undefined) throw new Error(`${path} was written but is not found`);
  const entries: Entry[] = [];
  let batches = 0;
  for (const batch of intent.history.batches()) {
    entries.push(...batch);
    batches++;
  }
  const { count, first } = intent.history;
  return { ...intent, history: { prevTerm: intent.history.prevTerm, entries }, count, first, batches };
}

describe("install intent", () => {
  test("round-trips the snapshot's identity and the history; an empty history takes the snapshot's term", () => {
    const snapshot = snapshotAt(20, 4, "new");
    const file = encodeSnapshot(snapshot);
    const history = { prevTerm: 2, entries: [...makeEntries(15, 17, 3, 40, 1), ...makeEntries(18, 20, 4, 0, 1)] };
    const back = decodeInstallIntent(PATH, join(encodeInstallIntent(installIntent(snapshot, file, history))));
    expect({
      ...back,
      history: { prevTerm: back.history.prevTerm, entries: describeEntries(back.history.entries) },
    }).toEqual({
      index: 20,
      term: 4,
      snapshotChecksum: new DataView(join(file).buffer).getUint32(12),
      history: { prevTerm: 2, entries: describeEntries(history.entries) },
      count: 6,
      first: 15,
      // 64-byte chunks: a record of a 40-byte entry (65 bytes) is larger than one, so it is read with twice that,
      // which holds one of them whole and the next cut, or the last one and two empty records (25 bytes each)
      batches: 4,
    });
    const empty = decodeInstallIntent(
      PATH,
      join(encodeInstallIntent(installIntent(snapshot, file, { prevTerm: 9, entries: [] }))),
    );
    expect({ history: empty.history, count: empty.count, first: empty.first }).toEqual({
      history: { prevTerm: 4, entries: [] },
      count: 0,
      first: 21,
    });
  });

  test("it matches only its own snapshot file: same index and term with other bytes do not", () => {
    const mine = snapshotAt(20, 4, "new");
    const intent = installIntent(mine, encodeSnapshot(mine), { prevTerm: 0, entries: [] });
    const read = (s: typeof mine): [ReturnType<typeof decodeSnapshot>, number] => {
      const bytes = join(encodeSnapshot(s));
      return [decodeSnapshot("/d/snapshot", bytes), new DataView(bytes.buffer).getUint32(12)];
    };
    expect(installReachedSnapshot(intent, ...read(mine))).toBe(true);
    expect(installReachedSnapshot(intent, ...read(snapshotAt(20, 4, "old")))).toBe(false);
    expect(installReachedSnapshot(intent, ...read(snapshotAt(19, 4, "new")))).toBe(false);
    expect(installReachedSnapshot(intent, undefined, undefined)).toBe(false);
  });

  test("a damaged intent, or one whose history cannot follow its snapshot, is corruption naming the file", () => {
    const snapshot = snapshotAt(20, 4);
    const good = join(
      encodeInstallIntent(
        installIntent(snapshot, encodeSnapshot(snapshot), { prevTerm: 2, entries: makeEntries(18, 20, 4) }),
      ),
    );
    const flipped = good.slice();
    flipped[good.length - 5] = (flipped[good.length - 5] as number) ^ 1;
    expect(() => decodeInstallIntent(PATH, flipped)).toThrow(`${PATH} is damaged: checksum mismatch`);
    const magic = new DataView(good.buffer).getUint32(0);
    const meta = (entries: number, index = 20): Uint8Array => {
      const m = encode({ index, term: 4, snapshotChecksum: 1, prevTerm: 2, entries });
      const len = new Uint8Array(4);
      new DataView(len.buffer).setUint32(0, m.length);
      return join([len, m]);
    };
    const records = good.subarray(16 + 4 + new DataView(good.buffer).getUint32(16));
    expect(() => decodeInstallIntent(PATH, join(sealParts(magic, [meta(4), records])))).toThrow(
      `${PATH} is damaged: holds 3 history entries, its metadata says 4`,
    );
    expect(() => decodeInstallIntent(PATH, join(sealParts(magic, [meta(3, 21), records])))).toThrow(
      `${PATH} is damaged: its history cannot follow the snapshot: history must end at the snapshot (index 21 term 4), not at index 20 term 4`,
    );
    expect(() =>
      decodeInstallIntent(PATH, join(sealParts(magic, [meta(3), records.subarray(0, records.length - 1)]))),
    ).toThrow(`${PATH} is damaged: history record at byte`);
  });
});
