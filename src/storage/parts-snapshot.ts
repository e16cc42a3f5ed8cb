import type { Snapshot, SnapshotMeta } from "../raft/log-types.ts";

/**
 * A snapshot a broker took of its own state, kept as the pieces the state machine gave (mostly
 * views of its index columns, see snapshot-codec.ts) and written to disk as they are. They are
 * joined into one buffer only if something reads `data`: sending the snapshot to a follower.
 */
export class PartsSnapshot implements Snapshot {
  private joined: Uint8Array | undefined;

  constructor(
    readonly meta: SnapshotMeta,
    readonly parts: readonly Uint8Array[],
  ) {}

  get data(): Uint8Array {
    this.joined ??= Buffer.concat(this.parts);
    return this.joined;
  }
}

/** The state machine's bytes of any snapshot, as pieces to write one after the other. */
export function snapshotParts(snapshot: Snapshot): readonly Uint8Array[] {
  return snapshot instanceof PartsSnapshot ? snapshot.parts : [snapshot.data];
}
