import type { NodeId, Snapshot, SnapshotChunkReceiver, SnapshotMessage } from "../raft/index.ts";
import type { Fs } from "../storage/fs.ts";
import { unlinkIfPresent } from "../storage/fs.ts";
import { describeError, MqraftError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import { checkStreamFile, ReceivedSnapshot } from "./snapshot-received.ts";
import { announcedSize, parseStreamHeader } from "./snapshot-stream.ts";

/** The file in the data folder a follower writes a snapshot transfer into; recovery removes `*.tmp` files at start. */
export const INCOMING_SNAPSHOT = "incoming-snapshot.tmp";
/** --max-snapshot's default: the largest transfer a follower writes to its disk. */
export const DEFAULT_MAX_SNAPSHOT_BYTES = 64 * 2 ** 30;
/** A stream's header (membership and sizes) is far smaller than this; a larger one is refused as it arrives. */
const MAX_HEADER_BYTES = 1 << 20;

/**
 * Follower side of a snapshot transfer, for the Raft core: each chunk is written to a file as it comes, so memory does
 * not grow while a large snapshot arrives, and the snapshot is handed to the core (to be installed) only once it is
 * complete and its checksum and structure are verified, a section at a time. The file is bounded: by the size the
 * leader announces in the stream's header (snapshot-stream.ts) and by `maxBytes` (--max-snapshot); a transfer past
 * either is refused with an error in the log, and nothing of it is kept. A broker killed or cut off mid-transfer keeps
 * its state as it was; the partial file is removed at the next start, and the leader sends again from the start.
 */
export class SnapshotFileReceiver implements SnapshotChunkReceiver {
  private key = "";
  private fd: number | undefined;
  private received = 0;
  /** What this transfer may still grow to: maxBytes until the header announces less. */
  private limit: number;
  private headerRead = false;
  /** The transfer refused last: its chunks are answered without being written, and the refusal is logged once. */
  private refused = "";
  /** Each completed transfer gets a file of its own, which the install removes (snapshot-install.ts). */
  private completed = 0;

  constructor(
    private readonly fs: Fs,
    private readonly path: string,
    private readonly log: Logger,
    private readonly maxBytes = DEFAULT_MAX_SNAPSHOT_BYTES,
  ) {
    this.limit = maxBytes;
  }

  /** Bytes of the transfer in progress written so far (/metrics), 0 when none is. */
  get receiving(): number {
    return this.received;
  }

  /** Answers as the core's in-memory receiver does: the snapshot once complete, else the offset needed next. */
  accept(m: SnapshotMessage): Snapshot | number {
    const key = transferKey(m.from, m.term, m.meta.index);
    if (key === this.refused) return 0;
    const ours = key === this.key && this.fd !== undefined;
    if (m.offset !== 0 && !ours) return 0;
    // a first chunk sent again while later ones were on their way (resent at a heartbeat) does not start over
    if (m.offset !== this.received && (m.offset !== 0 || ours)) return this.received;
    try {
      if (m.offset === 0) this.begin(key);
      if (this.received + m.data.length > this.limit) return this.refuse(key, m, this.tooLarge(m));
      this.fs.write(this.fd as number, m.data, this.received);
      this.received += m.data.length;
      const problem = this.readHeader(m);
      if (problem !== undefined) return this.refuse(key, m, problem);
    } catch (e) {
      this.log.warn(`Could not write the snapshot from broker ${m.from} to ${this.path}: ${describeError(e)}`);
      this.reset();
      return 0;
    }
    if (!m.done) return this.received;
    return this.complete(m);
  }

  reset(): void {
    this.closeFile();
    unlinkIfPresent(this.fs, this.path);
    this.key = "";
    this.received = 0;
    this.limit = this.maxBytes;
    this.headerRead = false;
  }

  private begin(key: string): void {
    this.reset();
    this.fd = this.fs.open(this.path, "w");
    this.key = key;
  }

  /** Once the header is in the file: the limit becomes the size it announces. A problem with it is returned. */
  private readHeader(m: SnapshotMessage): string | undefined {
    if (this.headerRead || this.received < 8) return undefined;
    const fd = this.fd as number;
    const prefix = new Uint8Array(8);
    this.fs.read(fd, prefix, 0);
    const headerBytes = new DataView(prefix.buffer).getUint32(4);
    if (headerBytes > MAX_HEADER_BYTES)
      return `its header announces ${headerBytes} bytes, more than ${MAX_HEADER_BYTES}`;
    if (this.received < 8 + headerBytes) return undefined;
    this.headerRead = true;
    try {
      const { header, headerEnd } = parseStreamHeader(
        prefix,
        (length) => {
          const bytes = new Uint8Array(length);
          this.fs.read(fd, bytes, 8);
          return bytes;
        },
        Number.POSITIVE_INFINITY,
        (problem) => new MqraftError("CORRUPT", problem),
      );
      if (header.meta.index !== m.meta.index) return `its header is for index ${header.meta.index}`;
      const size = announcedSize(header, headerEnd);
      if (size === undefined) return undefined;
      if (size > this.maxBytes) return `it is ${size} bytes, more than --max-snapshot (${this.maxBytes} bytes)`;
      if (this.received > size) return `${this.received} bytes arrived, more than the ${size} its header announces`;
      this.limit = size;
    } catch (e) {
      return describeError(e);
    }
    return undefined;
  }

  private tooLarge(m: SnapshotMessage): string {
    const past = this.received + m.data.length;
    return this.limit === this.maxBytes
      ? `it grew past --max-snapshot (${this.maxBytes} bytes) at ${past} bytes`
      : `it grew past the ${this.limit} bytes its header announces, to ${past}`;
  }

  private refuse(key: string, m: SnapshotMessage, why: string): number {
    this.reset();
    if (this.refused !== key) {
      this.log.error(
        `Refused the snapshot from broker ${m.from} at index ${m.meta.index}: ${why}. This broker cannot catch up ` +
          "from that leader until the snapshot fits (raise --max-snapshot, or lower the retention on the leader)",
      );
    }
    this.refused = key;
    return 0;
  }

  private complete(m: SnapshotMessage): Snapshot | number {
    this.closeFile();
    const path = `${this.path.slice(0, -".tmp".length)}-${++this.completed}.tmp`;
    this.fs.rename(this.path, path);
    this.reset();
    try {
      const layout = checkStreamFile(this.fs, path, `the snapshot from broker ${m.from}`);
      if (layout.meta.index !== m.meta.index || layout.meta.term !== m.meta.term)
        throw new Error(`it is the snapshot at ${layout.meta.index}, not at ${m.meta.index}`);
      return new ReceivedSnapshot(this.fs, path, { ...layout, meta: m.meta });
    } catch (e) {
      unlinkIfPresent(this.fs, path);
      this.log.warn(`Refused a snapshot transfer (${describeError(e)}); receiving it again`);
      return 0;
    }
  }

  private closeFile(): void {
    if (this.fd === undefined) return;
    this.fs.close(this.fd);
    this.fd = undefined;
  }
}

function transferKey(from: NodeId, term: number, index: number): string {
  return `${from}/${term}/${index}`;
}
