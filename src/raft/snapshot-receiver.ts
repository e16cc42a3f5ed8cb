/** Follower side of a chunked snapshot transfer: collects chunks in order until the last one. */
import type { NodeId, Snapshot } from "./log-types.ts";
import type { SnapshotMessage } from "./messages.ts";

/**
 * What collects a snapshot's chunks on a follower. The default keeps them in memory; a driver may pass one that
 * keeps them elsewhere (a file), since a snapshot can be larger than a process should hold. Either answers exactly
 * as described on `accept`, and hands out a snapshot only once it has all of it.
 */
export interface SnapshotChunkReceiver {
  accept(m: SnapshotMessage): Snapshot | number;
  reset(): void;
}

export class SnapshotReceiver implements SnapshotChunkReceiver {
  private key = "";
  private chunks: Uint8Array[] = [];
  private received = 0;

  /**
   * Takes one chunk; returns the whole snapshot when `m` completes it, otherwise the offset the
   * follower needs next. A transfer is identified by leader, term and snapshot index: a chunk of
   * another one restarts collection only when it is the first chunk.
   */
  accept(m: SnapshotMessage): Snapshot | number {
    const key = transferKey(m.from, m.term, m.meta.index);
    if (m.offset === 0) {
      this.key = key;
      this.chunks = [];
      this.received = 0;
    } else if (key !== this.key) {
      return 0;
    }
    if (m.offset !== this.received) return this.received;
    this.chunks.push(m.data);
    this.received += m.data.length;
    if (!m.done) return this.received;
    const data = concat(this.chunks, this.received);
    this.reset();
    return { meta: m.meta, data };
  }

  reset(): void {
    this.key = "";
    this.chunks = [];
    this.received = 0;
  }
}

function transferKey(from: NodeId, term: number, index: number): string {
  return `${from}/${term}/${index}`;
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
