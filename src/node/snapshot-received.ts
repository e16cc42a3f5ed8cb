import type { Entry, EntryKind, Snapshot, SnapshotMeta } from "../raft/index.ts";
import { crc32Update } from "../storage/crc32.ts";
import { type Fs, readWholeFile, unlinkIfPresent } from "../storage/fs.ts";
import type { HistoryStream } from "../storage/install-intent.ts";
import { recordSize } from "../storage/record-codec.ts";
import { MqraftError } from "../util/errors.ts";
import { ENTRY_HEADER_SIZE, parseStreamHeader } from "./snapshot-stream.ts";

/** Bytes read from a received snapshot file at a time: what verifying and installing it hold of it. */
const SECTION_BYTES = 1 << 20;

/** Where the parts of a verified snapshot stream lie in its file (docs/snapshots.md). */
export interface StreamLayout {
  meta: SnapshotMeta;
  /** Term of the entry before the first retained one. */
  prevTerm: number;
  /** Index of the first retained entry; `count` of them run to meta.index. */
  first: number;
  count: number;
  stateAt: number;
  stateBytes: number;
  /** File offset of the first entry's header. */
  entriesAt: number;
  /** What the retained entries take as log records (install-intent.ts). */
  recordBytes: number;
  size: number;
}

/** Reads a file forward through one window of SECTION_BYTES. */
class SectionReader {
  private window = new Uint8Array(0);
  private start = 0;
  private length = 0;

  constructor(
    private readonly fs: Fs,
    private readonly fd: number,
    private readonly corrupt: (problem: string) => MqraftError,
  ) {}

  /** Bytes [at, at + n): a view valid until the next call, or a buffer of its own when larger than a section. */
  bytes(at: number, n: number): Uint8Array {
    if (at >= this.start && at + n <= this.start + this.length) {
      return this.window.subarray(at - this.start, at - this.start + n);
    }
    if (n > SECTION_BYTES) {
      const own = new Uint8Array(n);
      if (this.fs.read(this.fd, own, at) < n) throw this.corrupt(`it ends before byte ${at + n}`);
      return own;
    }
    if (this.window.length === 0) this.window = new Uint8Array(SECTION_BYTES);
    this.start = at;
    this.length = this.fs.read(this.fd, this.window, at);
    if (this.length < n) throw this.corrupt(`it ends before byte ${at + n}`);
    return this.window.subarray(0, n);
  }
}

function withFile<T>(fs: Fs, path: string, what: string, work: (reader: SectionReader, size: number) => T): T {
  const corrupt = (problem: string) => new MqraftError("CORRUPT", `${what} is corrupt or truncated: ${problem}`);
  const fd = fs.open(path, "r");
  try {
    return work(new SectionReader(fs, fd, corrupt), fs.size(fd));
  } finally {
    fs.close(fd);
  }
}

/**
 * Checks a snapshot stream written to `path` (its CRC, then every field, as decodeStream does for one in memory)
 * a section at a time, and returns where its parts lie; `what` names it in the CORRUPT error.
 */
export function checkStreamFile(fs: Fs, path: string, what: string): StreamLayout {
  const corrupt = (problem: string) => new MqraftError("CORRUPT", `${what} is corrupt or truncated: ${problem}`);
  return withFile(fs, path, what, (reader, size) => {
    if (size < 12) throw corrupt(`${size} bytes is shorter than any snapshot`);
    const body = size - 4;
    let crc = 0;
    for (let at = 0; at < body; at += SECTION_BYTES) {
      crc = crc32Update(crc, reader.bytes(at, Math.min(SECTION_BYTES, body - at)));
    }
    const stored = reader.bytes(body, 4);
    if (crc >>> 0 !== new DataView(stored.buffer, stored.byteOffset, 4).getUint32(0))
      throw corrupt("its checksum does not match");
    const head = reader.bytes(0, 8);
    const headerLength = new DataView(head.buffer, head.byteOffset, 8).getUint32(4);
    const { header, headerEnd } = parseStreamHeader(head, () => reader.bytes(8, headerLength), body, corrupt);
    const stateAt = headerEnd;
    let at = stateAt + header.stateBytes;
    if (at > body) throw corrupt("its state runs past the end");
    const entriesAt = at;
    let term = header.prevTerm;
    let recordBytes = 0;
    for (let index = header.first; index <= header.meta.index; index++) {
      if (at + ENTRY_HEADER_SIZE > body) throw corrupt(`it ends before entry ${index}`);
      const h = reader.bytes(at, ENTRY_HEADER_SIZE);
      const view = new DataView(h.buffer, h.byteOffset, ENTRY_HEADER_SIZE);
      const entryTerm = view.getUint32(0) * 2 ** 32 + view.getUint32(4);
      const kind = view.getUint8(8);
      const length = view.getUint32(9);
      at += ENTRY_HEADER_SIZE;
      if (kind !== 0 && kind !== 1) throw corrupt(`entry ${index} has kind ${kind}`);
      if (entryTerm < term) throw corrupt(`entry ${index} has term ${entryTerm}, below the ${term} before it`);
      if (at + length > body) throw corrupt(`entry ${index} runs past the end`);
      term = entryTerm;
      recordBytes += recordSize(length);
      at += length;
    }
    const count = header.meta.index - header.first + 1;
    if (count > 0 && term !== header.meta.term)
      throw corrupt(`its last entry has term ${term}, the snapshot's is ${header.meta.term}`);
    if (at !== body) throw corrupt(`${body - at} bytes follow the last entry`);
    const { meta, prevTerm, first, stateBytes } = header;
    return { meta, prevTerm, first, count, stateAt, stateBytes, entriesAt, recordBytes, size };
  });
}

/**
 * A snapshot received from the leader, left in its file: installing it reads the state machine's bytes, then the
 * retained entries a batch at a time (ReceivedSnapshot.history), so a follower never holds the whole transfer.
 */
export class ReceivedSnapshot implements Snapshot {
  constructor(
    private readonly fs: Fs,
    readonly path: string,
    readonly layout: StreamLayout,
  ) {}

  get meta(): SnapshotMeta {
    return this.layout.meta;
  }

  /** The whole stream, for a reader other than the install (none in the broker). */
  get data(): Uint8Array {
    return readWholeFile(this.fs, this.path) ?? new Uint8Array(0);
  }

  /** The state machine's bytes. */
  state(): Uint8Array {
    const { stateAt, stateBytes } = this.layout;
    return withFile(this.fs, this.path, this.path, (reader) => reader.bytes(stateAt, stateBytes).slice());
  }

  /** The retained entries for the store's install, a batch of about `batchBytes` at a time. */
  history(batchBytes = SECTION_BYTES): HistoryStream {
    const { prevTerm, first, count, recordBytes } = this.layout;
    return { prevTerm, first, count, recordBytes, batches: () => this.batches(batchBytes) };
  }

  discard(): void {
    unlinkIfPresent(this.fs, this.path);
  }

  private *batches(batchBytes: number): Generator<Entry[]> {
    const fd = this.fs.open(this.path, "r");
    const corrupt = (problem: string) =>
      new MqraftError("CORRUPT", `${this.path} changed after it was checked: ${problem}`);
    try {
      const reader = new SectionReader(this.fs, fd, corrupt);
      let at = this.layout.entriesAt;
      let batch: Entry[] = [];
      let bytes = 0;
      for (let k = 0; k < this.layout.count; k++) {
        const h = reader.bytes(at, ENTRY_HEADER_SIZE);
        const view = new DataView(h.buffer, h.byteOffset, ENTRY_HEADER_SIZE);
        const term = view.getUint32(0) * 2 ** 32 + view.getUint32(4);
        const kind = view.getUint8(8) as EntryKind;
        const length = view.getUint32(9);
        at += ENTRY_HEADER_SIZE;
        // a copy: the reader's window is read over again
        const data = reader.bytes(at, length).slice();
        at += length;
        batch.push({ index: this.layout.first + k, term, kind, data });
        bytes += length;
        if (bytes >= batchBytes) {
          yield batch;
          batch = [];
          bytes = 0;
        }
      }
      if (batch.length > 0) yield batch;
    } finally {
      this.fs.close(fd);
    }
  }
}
