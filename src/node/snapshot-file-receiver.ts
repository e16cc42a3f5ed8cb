import type { NodeId, Snapshot, SnapshotChunkReceiver, SnapshotMessage } from "../raft/index.ts";
import type { Fs } from "../storage/fs.ts";
import { readWholeFile, unlinkIfPresent } from "../storage/fs.ts";
import { describeError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import { decodeStream } from "./snapshot-stream.ts";

/** The file in the data folder a follower writes a snapshot transfer into; recovery removes `*.tmp` files at start. */
export const INCOMING_SNAPSHOT = "incoming-snapshot.tmp";

/**
 * Follower side of a snapshot transfer, for the Raft core: each chunk is written to a file as it comes, so memory does
 * not grow while a large snapshot arrives, and the snapshot is handed to the core (to be installed) only once it is
 * complete and its checksum and structure are verified. A broker killed or cut off mid-transfer keeps its state as
 * it was; the partial file is removed at the next start, and the leader sends again from the start.
 */
export class SnapshotFileReceiver implements SnapshotChunkReceiver {
  private key = "";
  private fd: number | undefined;
  private received = 0;

  constructor(
    private readonly fs: Fs,
    private readonly path: string,
    private readonly log: Logger,
  ) {}

  /** Answers as the core's in-memory receiver does: the snapshot once complete, else the offset needed next. */
  accept(m: SnapshotMessage): Snapshot | number {
    const key = transferKey(m.from, m.term, m.meta.index);
    const ours = key === this.key && this.fd !== undefined;
    if (m.offset !== 0 && !ours) return 0;
    // a first chunk sent again while later ones were on their way (resent at a heartbeat) does not start over
    if (m.offset !== this.received && (m.offset !== 0 || ours)) return this.received;
    try {
      if (m.offset === 0) this.begin(key);
      this.fs.write(this.fd as number, m.data, this.received);
    } catch (e) {
      this.log.warn(`Could not write the snapshot from broker ${m.from} to ${this.path}: ${describeError(e)}`);
      this.reset();
      return 0;
    }
    this.received += m.data.length;
    if (!m.done) return this.received;
    return this.complete(m);
  }

  reset(): void {
    this.closeFile();
    unlinkIfPresent(this.fs, this.path);
    this.key = "";
    this.received = 0;
  }

  private begin(key: string): void {
    this.closeFile();
    this.fd = this.fs.open(this.path, "w");
    this.key = key;
    this.received = 0;
  }

  private complete(m: SnapshotMessage): Snapshot | number {
    this.closeFile();
    const bytes = readWholeFile(this.fs, this.path) ?? new Uint8Array(0);
    this.reset();
    try {
      const stream = decodeStream(bytes, `the snapshot from broker ${m.from}`);
      if (stream.meta.index !== m.meta.index || stream.meta.term !== m.meta.term)
        throw new Error(`it is the snapshot at ${stream.meta.index}, not at ${m.meta.index}`);
    } catch (e) {
      this.log.warn(`Refused a snapshot transfer (${describeError(e)}); receiving it again`);
      return 0;
    }
    return { meta: m.meta, data: bytes };
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
