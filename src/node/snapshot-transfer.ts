import type { Entry, LogReader, Snapshot, SnapshotChunk } from "../raft/index.ts";
import { MqraftError } from "../util/errors.ts";
import { streamPieces } from "./snapshot-stream.ts";

/**
 * Transfers read at once, each holding at most one chunk and one batch of entries (about 2 MiB): more followers
 * than this catching up on the same snapshot at different offsets re-read the stream from its start.
 */
const MAX_CURSORS = 4;

/** A chunk of a snapshot stream, in a buffer of its own. */
interface OwnChunk extends SnapshotChunk {
  data: Uint8Array<ArrayBuffer>;
}

/** A position in the stream of one snapshot, and the chunk it produced last (resent while unanswered). */
export class StreamCursor {
  position = 0;
  lastStart = -1;
  last: OwnChunk = { data: new Uint8Array(0), done: false };
  private piece: Uint8Array = new Uint8Array(0);
  private ended = false;
  private readonly pieces: Generator<Uint8Array>;

  constructor(
    readonly snapshot: Snapshot,
    store: LogReader,
  ) {
    this.pieces = streamPieces(store, snapshot);
  }

  get finished(): boolean {
    return this.ended && this.piece.length === 0;
  }

  next(maxBytes: number): OwnChunk {
    const out = new Uint8Array(maxBytes);
    let n = 0;
    while (n < maxBytes && this.fill()) {
      const take = Math.min(maxBytes - n, this.piece.length);
      out.set(this.piece.subarray(0, take), n);
      this.piece = this.piece.subarray(take);
      n += take;
    }
    this.fill();
    this.lastStart = this.position;
    this.position += n;
    this.last = { data: out.subarray(0, n), done: this.finished };
    return this.last;
  }

  /** Makes `piece` non-empty unless the stream has ended; false once it has. */
  private fill(): boolean {
    while (this.piece.length === 0 && !this.ended) {
      const r = this.pieces.next();
      if (r.done) this.ended = true;
      else this.piece = r.value;
    }
    return this.piece.length > 0;
  }
}

/**
 * The log as the Raft core sees it: the store, and the snapshot transfer streamed from it a chunk at a time
 * (snapshot-stream.ts), so a leader never builds the whole transfer, whatever the size of the retained history.
 */
export class TransferLogView implements LogReader {
  private cursors: StreamCursor[] = [];

  constructor(private readonly store: LogReader) {}

  firstIndex(): number {
    return this.store.firstIndex();
  }
  lastIndex(): number {
    return this.store.lastIndex();
  }
  term(index: number): number | undefined {
    return this.store.term(index);
  }
  entries(lo: number, hi: number, maxBytes?: number): Entry[] {
    return this.store.entries(lo, hi, maxBytes);
  }
  snapshot(): Snapshot | undefined {
    return this.store.snapshot();
  }

  snapshotChunk(snapshot: Snapshot, offset: number, maxBytes: number): SnapshotChunk {
    this.cursors = this.cursors.filter((c) => c.snapshot === snapshot);
    const resend = this.cursors.find((c) => c.lastStart === offset);
    if (resend !== undefined) return this.use(resend).last;
    let cursor = this.cursors.find((c) => c.position === offset && !c.finished);
    try {
      if (cursor === undefined) {
        cursor = new StreamCursor(snapshot, this.store);
        this.cursors.push(cursor);
        if (this.cursors.length > MAX_CURSORS) this.cursors.shift();
        // A follower resuming where no cursor is: the stream is the same as long as the log was not compacted.
        while (cursor.position < offset && !cursor.finished) cursor.next(Math.min(maxBytes, offset - cursor.position));
      }
      return this.use(cursor).next(maxBytes);
    } catch (e) {
      if (!(e instanceof MqraftError) || e.code !== "UNAVAILABLE") throw e;
      // The log moved under the stream: an empty last chunk fails the follower's check, and it asks from 0 again.
      this.cursors = this.cursors.filter((c) => c !== cursor);
      return { data: new Uint8Array(0), done: true };
    }
  }

  private use(cursor: StreamCursor): StreamCursor {
    this.cursors = [...this.cursors.filter((c) => c !== cursor), cursor];
    return cursor;
  }
}
