import type { LogReader, Snapshot } from "../raft/index.ts";
import { MqraftError } from "../util/errors.ts";
import type { SnapshotChunkReply, SnapshotRead } from "../wire/index.ts";
import { StreamCursor } from "./snapshot-transfer.ts";

/** Bytes per answer to `snapshot-read`: one chunk of the stream, as a leader sends a follower. */
const CHUNK_BYTES = 1 << 20;
/** Saves read at once; each holds one chunk and one batch of entries (about 2 MiB). An older one must start over. */
const MAX_SAVES = 2;

export interface SnapshotSaveHost {
  /** The leader's latest snapshot, taken at its applied index first if it applied entries since. */
  latestSnapshot(): Promise<Snapshot>;
  store: LogReader;
}

/**
 * `mqraft snapshot save` on the leader: the same stream a follower is sent (snapshot-stream.ts), read a chunk per
 * request. The snapshot is pinned by its cursor while the save goes on; only retention dropping the log entries it
 * still has to send ends it early (UNAVAILABLE: save again).
 */
export class SnapshotSaves {
  private cursors: StreamCursor[] = [];

  constructor(private readonly host: () => SnapshotSaveHost) {}

  async read(m: SnapshotRead): Promise<SnapshotChunkReply> {
    const cursor = m.index === undefined ? await this.begin(m.offset) : this.resume(m.index, m.offset);
    const resend = cursor.lastStart === m.offset;
    let chunk = cursor.last;
    if (!resend) {
      try {
        chunk = cursor.next(CHUNK_BYTES);
      } catch (e) {
        this.cursors = this.cursors.filter((c) => c !== cursor);
        if (e instanceof MqraftError && e.code === "UNAVAILABLE")
          throw new MqraftError("UNAVAILABLE", `${e.message}: run snapshot save again`);
        throw e;
      }
    }
    if (chunk.done) this.cursors = this.cursors.filter((c) => c !== cursor);
    const { meta } = cursor.snapshot;
    return { type: "snapshot-chunk", id: m.id, index: meta.index, term: meta.term, offset: m.offset, ...chunk };
  }

  private async begin(offset: number): Promise<StreamCursor> {
    if (offset !== 0) throw new MqraftError("BAD_MESSAGE", "snapshot-read without an index must start at offset 0");
    const host = this.host();
    const cursor = new StreamCursor(await host.latestSnapshot(), host.store);
    this.cursors.push(cursor);
    if (this.cursors.length > MAX_SAVES) this.cursors.shift();
    return cursor;
  }

  private resume(index: number, offset: number): StreamCursor {
    const cursor = this.cursors.find(
      (c) => c.snapshot.meta.index === index && (c.position === offset || c.lastStart === offset),
    );
    if (cursor === undefined)
      throw new MqraftError(
        "UNAVAILABLE",
        `the leader is no longer saving the snapshot at index ${index} from offset ${offset}: run snapshot save again`,
      );
    return cursor;
  }
}
