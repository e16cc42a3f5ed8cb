import type { Snapshot } from "../raft/index.ts";
import type { LogStore } from "../storage/log-store.ts";
import { ReceivedSnapshot } from "./snapshot-received.ts";
import { decodeStream } from "./snapshot-stream.ts";

/** What installing a leader's snapshot gave the state machine, and what to log about it. */
export interface Installed {
  /** The state machine's snapshot (its bytes, without the retained history). */
  state: Snapshot;
  retained: number;
  bytes: number;
}

/**
 * Persists a snapshot transfer from the leader: the state machine's bytes as the store's snapshot, the retained
 * entries as its log. A transfer received into a file (snapshot-file-receiver.ts) is read a section at a time and its
 * file removed afterwards; one held in memory (the simulator's in-memory receiver) is decoded whole.
 */
export async function installTransfer(store: LogStore, snapshot: Snapshot): Promise<Installed> {
  const what = `the leader's snapshot at index ${snapshot.meta.index}`;
  if (!(snapshot instanceof ReceivedSnapshot)) {
    const transfer = decodeStream(snapshot.data, what);
    const state: Snapshot = { meta: snapshot.meta, data: transfer.state };
    await store.installSnapshot(state, { prevTerm: transfer.prevTerm, entries: transfer.entries });
    return { state, retained: transfer.entries.length, bytes: snapshot.data.length };
  }
  try {
    const state: Snapshot = { meta: snapshot.meta, data: snapshot.state() };
    await store.installSnapshotStreamed(state, snapshot.history());
    return { state, retained: snapshot.layout.count, bytes: snapshot.layout.size };
  } finally {
    snapshot.discard();
  }
}
