/**
 * Appends per second through the log store with group commit, beside the raw rate of one
 * fdatasync per record on the same disk in the same run, for 128-byte and 4 KiB records.
 *
 *   CBOR_NATIVE_ACCELERATION_DISABLED=true bun bench/storage-bench.ts [seconds per measurement, default 1.5]
 *
 * The files go to a fresh folder under os.tmpdir() (set TMPDIR to measure another disk).
 */
import * as nodeFs from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LogStore } from "../src/storage/log-store.ts";
import { RealFs } from "../src/storage/real-fs.ts";
import { recordSize } from "../src/storage/record-codec.ts";

const seconds = Number(process.argv[2] ?? 1.5);
const SIZES = [128, 4096];
const WRITERS = 1000;
const BATCH = 1000;

class CountingFs extends RealFs {
  datasyncs = 0;
  override datasync(fd: number): Promise<void> {
    this.datasyncs++;
    return super.datasync(fd);
  }
}

/** The alternative to the thread-pool fdatasync that RealFs uses: the blocking call, for comparison. */
class BlockingSyncFs extends CountingFs {
  override datasync(fd: number): Promise<void> {
    this.datasyncs++;
    this.datasyncSync(fd);
    return Promise.resolve();
  }
}

interface Rate {
  perSecond: number;
  perSync?: number;
  /** Longest delay of a 1 ms timer during the run: how long the event loop could not serve the network. */
  stallMs?: number;
}

/** Watches how late a 1 ms interval fires while `work` runs. */
async function withStallMeter(work: () => Promise<Rate>): Promise<Rate> {
  let last = performance.now();
  let worst = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    worst = Math.max(worst, now - last - 1);
    last = now;
  }, 1);
  try {
    const rate = await work();
    // A loop that never yields to timers shows only here, as one long final gap.
    return { ...rate, stallMs: Math.max(worst, performance.now() - last - 1) };
  } finally {
    clearInterval(timer);
  }
}

/** One fdatasync after each record written: what a log without group commit pays. */
async function rawPerRecord(dir: string, dataSize: number, mode: "sync" | "async"): Promise<Rate> {
  const fd = nodeFs.openSync(join(dir, `raw-${mode}-${dataSize}`), "w");
  const rec = new Uint8Array(recordSize(dataSize)).fill(7);
  const start = performance.now();
  const end = start + seconds * 1000;
  let n = 0;
  try {
    while (performance.now() < end) {
      nodeFs.writeSync(fd, rec, 0, rec.length, n * rec.length);
      if (mode === "sync") nodeFs.fdatasyncSync(fd);
      else await new Promise<void>((res, rej) => nodeFs.fdatasync(fd, (e) => (e ? rej(e) : res())));
      n++;
    }
  } finally {
    nodeFs.closeSync(fd);
  }
  return { perSecond: n / ((performance.now() - start) / 1000) };
}

/** `writers` concurrent writers, each appending one record and waiting for sync() before the next. */
async function storeWriters(dir: string, dataSize: number, writers: number, fs = new CountingFs()): Promise<Rate> {
  const store = await LogStore.open({ fs, dir: join(dir, `writers-${writers}-${dataSize}-${fs.constructor.name}`) });
  const data = new Uint8Array(dataSize).fill(1);
  const start = performance.now();
  const end = start + seconds * 1000;
  const before = fs.datasyncs;
  let n = 0;
  const writer = async (): Promise<void> => {
    while (performance.now() < end) {
      store.append([{ index: store.lastIndex() + 1, term: 1, kind: 0, data }]);
      await store.sync();
      n++;
    }
  };
  await Promise.all(Array.from({ length: writers }, writer));
  const elapsed = (performance.now() - start) / 1000;
  await store.close();
  return { perSecond: n / elapsed, perSync: n / (fs.datasyncs - before) };
}

/** Batches of `BATCH` records appended in one event-loop turn, then one sync(). */
async function storeBatches(dir: string, dataSize: number): Promise<Rate> {
  const fs = new CountingFs();
  const store = await LogStore.open({ fs, dir: join(dir, `batches-${dataSize}`) });
  const data = new Uint8Array(dataSize).fill(1);
  const start = performance.now();
  const end = start + seconds * 1000;
  const before = fs.datasyncs;
  let n = 0;
  while (performance.now() < end) {
    const first = store.lastIndex() + 1;
    store.append(Array.from({ length: BATCH }, (_, k) => ({ index: first + k, term: 1, kind: 0 as const, data })));
    await store.sync();
    n += BATCH;
  }
  const elapsed = (performance.now() - start) / 1000;
  await store.close();
  return { perSecond: n / elapsed, perSync: n / (fs.datasyncs - before) };
}

function show(r: Rate): string {
  const rate = Math.round(r.perSecond).toLocaleString("en-US");
  const notes = [
    r.perSync === undefined ? "" : `${r.perSync.toFixed(1)}/fdatasync`,
    r.stallMs === undefined ? "" : `stall ${r.stallMs.toFixed(1)} ms`,
  ];
  const shown = notes.filter((n) => n !== "").join(", ");
  return shown === "" ? rate : `${rate} (${shown})`;
}

async function each(measure: (dataSize: number) => Promise<Rate>): Promise<string[]> {
  const out: string[] = [];
  for (const size of SIZES) out.push(show(await measure(size)));
  return out;
}

const root = await mkdtemp(join(tmpdir(), "mqraft-storage-bench-"));
try {
  console.log(`storage bench: ${seconds} s per measurement, files in ${root}`);
  console.log("records per second (record = data + 25 bytes of framing)\n");
  const rows: [string, ...string[]][] = [
    ["data bytes", ...SIZES.map(String)],
    ["raw: write + fdatasyncSync per record", ...(await each((s) => rawPerRecord(root, s, "sync")))],
    ["raw: write + async fdatasync per record", ...(await each((s) => rawPerRecord(root, s, "async")))],
    ["store: 1 writer, sync() per append", ...(await each((s) => storeWriters(root, s, 1)))],
    [
      `store: ${WRITERS} writers, group commit`,
      ...(await each((s) => withStallMeter(() => storeWriters(root, s, WRITERS)))),
    ],
    [
      `  same, blocking fdatasyncSync`,
      ...(await each((s) => withStallMeter(() => storeWriters(root, s, WRITERS, new BlockingSyncFs())))),
    ],
    [`store: batches of ${BATCH}, one sync() each`, ...(await each((s) => storeBatches(root, s)))],
  ];
  const widths = (rows[0] as string[]).map((_, c) => Math.max(...rows.map((r) => (r[c] ?? "").length)));
  for (const r of rows)
    console.log(
      r.map((cell, c) => (c === 0 ? cell.padEnd(widths[0] as number) : cell.padStart(widths[c] as number))).join("  "),
    );
} finally {
  await rm(root, { recursive: true, force: true });
}
