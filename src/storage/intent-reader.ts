import type { Entry } from "../raft/log-types.ts";
import { MqraftError } from "../util/errors.ts";
import { crc32Update } from "./crc32.ts";
import { runProblem } from "./entry-run.ts";
import { type Fs, openIfPresent } from "./fs.ts";
import { type HistoryStream, type InstallIntent, IntentMetaSchema, MAGIC_INSTALL } from "./install-intent.ts";
import { decodeRecordAt, RECORD_PREFIX_SIZE, viewOf } from "./record-codec.ts";
import { SEALED_HEADER_SIZE, SEALED_VERSION } from "./sealed-file.ts";
import { decodeBody } from "./state-files.ts";

/** The intent's history is read this much at a time (or one record, when a record is larger). */
const CHUNK_BYTES = 1 << 20;

/** An install intent found on disk: its history stays in the file and is read from it a batch at a time. */
export type IntentOnDisk = Omit<InstallIntent, "history"> & { history: HistoryStream };

/**
 * The install intent at `path`, or undefined when there is none. Its history may be as large as what the leader
 * retained, so it is never read whole: the file is checked (its checksum, then its records against its metadata)
 * reading `chunkBytes` at a time, and the history it returns reads the records again, a batch at a time, when the log
 * is rebuilt from them. Any damage is a CORRUPT error naming the file.
 */
export function readInstallIntent(fs: Fs, path: string, chunkBytes = CHUNK_BYTES): IntentOnDisk | undefined {
  const corrupt = (why: string): MqraftError => new MqraftError("CORRUPT", `${path} is damaged: ${why}`);
  const fd = openIfPresent(fs, path);
  if (fd === undefined) return undefined;
  try {
    const size = fs.size(fd);
    const readFrom = (file: number, at: number, length: number): Uint8Array => {
      const bytes = new Uint8Array(length);
      const n = fs.read(file, bytes, at);
      if (n !== length) throw corrupt(`ends at byte ${at + n}, before byte ${at + length}`);
      return bytes;
    };
    // The first chunk is kept and served from: an intent that fits in it is read once, as a whole file would be.
    const head = readFrom(fd, 0, Math.min(size, chunkBytes));
    const within = (at: number, length: number): Uint8Array | undefined =>
      at + length <= head.length ? head.subarray(at, at + length) : undefined;
    const read = (at: number, length: number): Uint8Array => within(at, length) ?? readFrom(fd, at, length);

    if (size < SEALED_HEADER_SIZE) throw corrupt(`only ${size} bytes, shorter than its header`);
    const view = viewOf(head);
    if (view.getUint32(0) !== MAGIC_INSTALL) throw corrupt("wrong magic number (not the file it is named as)");
    if (view.getUint32(4) !== SEALED_VERSION) throw corrupt(`unsupported format version ${view.getUint32(4)}`);
    const end = SEALED_HEADER_SIZE + view.getUint32(8);
    if (end !== size) {
      throw corrupt(`holds ${size - SEALED_HEADER_SIZE} body bytes, header says ${end - SEALED_HEADER_SIZE}`);
    }
    let crc = crc32Update(0, head.subarray(0, 12));
    for (let at = SEALED_HEADER_SIZE; at < end; at += chunkBytes) {
      crc = crc32Update(crc, read(at, Math.min(chunkBytes, end - at)));
    }
    if (crc !== view.getUint32(12)) throw corrupt("checksum mismatch");

    if (end - SEALED_HEADER_SIZE < 4) throw corrupt("no metadata length");
    const metaLength = viewOf(read(SEALED_HEADER_SIZE, 4)).getUint32(0);
    const start = SEALED_HEADER_SIZE + 4 + metaLength;
    if (start > end) throw corrupt("metadata runs past the end");
    const meta = decodeBody(path, read(SEALED_HEADER_SIZE + 4, metaLength), IntentMetaSchema);

    // The records, checked as recovery will replay them: contiguous, terms never decreasing, ending at the snapshot.
    let count = 0;
    let first = meta.index + 1;
    let next = -1;
    let term = meta.prevTerm;
    for (const batch of recordBatches(read, start, end, chunkBytes, corrupt)) {
      if (next === -1) {
        first = (batch[0] as Entry).index;
        next = first;
      }
      const broken =
        (batch[0] as Entry).index === next
          ? runProblem(batch, term)
          : `index ${batch[0]?.index} after index ${next - 1}`;
      if (broken !== undefined) {
        throw corrupt(
          `its history cannot follow the snapshot: history entries must be contiguous with non-decreasing terms (${broken})`,
        );
      }
      count += batch.length;
      next += batch.length;
      term = (batch.at(-1) as Entry).term;
    }
    if (count !== meta.entries) throw corrupt(`holds ${count} history entries, its metadata says ${meta.entries}`);
    if (count > 0 && (next - 1 !== meta.index || term !== meta.term)) {
      throw corrupt(
        `its history cannot follow the snapshot: history must end at the snapshot (index ${meta.index} term ${meta.term}), not at index ${next - 1} term ${term}`,
      );
    }
    const history: HistoryStream = {
      prevTerm: meta.prevTerm,
      first,
      count,
      recordBytes: end - start,
      *batches() {
        if (end <= head.length) {
          yield* recordBatches(read, start, end, chunkBytes, corrupt);
          return;
        }
        const again = fs.open(path, "r");
        try {
          yield* recordBatches((at, length) => readFrom(again, at, length), start, end, chunkBytes, corrupt);
        } finally {
          fs.close(again);
        }
      },
    };
    return { index: meta.index, term: meta.term, snapshotChecksum: meta.snapshotChecksum, history };
  } finally {
    fs.close(fd);
  }
}

/**
 * The records in bytes [from, to) of the file, as batches of about `chunkBytes` (a record larger than that is a batch
 * of its own, or with the records that follow it within twice its size). Each batch views bytes of its own, so a batch
 * may be kept while the next is read.
 */
function* recordBatches(
  read: (at: number, length: number) => Uint8Array,
  from: number,
  to: number,
  chunkBytes: number,
  corrupt: (why: string) => MqraftError,
): Generator<Entry[]> {
  for (let at = from; at < to; ) {
    let bytes = read(at, Math.min(chunkBytes, to - at));
    let view = viewOf(bytes);
    const batch: Entry[] = [];
    let offset = 0;
    while (offset < bytes.length) {
      const d = decodeRecordAt(bytes, offset, view);
      if (d.ok) {
        batch.push(d.record as Entry);
        offset += d.size;
        continue;
      }
      // cut by the end of the chunk, not of the file: the record starts the next batch, or, alone, gets a larger read
      const cut = d.need !== undefined || bytes.length - offset < RECORD_PREFIX_SIZE;
      if (!cut || at + bytes.length >= to) {
        throw corrupt(`history record at byte ${at + offset - SEALED_HEADER_SIZE}: ${d.problem}`);
      }
      if (offset > 0) break;
      bytes = read(at, Math.min(to - at, Math.max(d.need ?? 0, 2 * bytes.length)));
      view = viewOf(bytes);
    }
    yield batch;
    at += offset;
  }
}
