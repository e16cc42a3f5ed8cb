import * as v from "valibot";
import type { Entry, LogReader, Snapshot } from "../raft/index.ts";
import { decode, encode } from "../util/cbor-x.ts";
import { MqraftError } from "../util/errors.ts";

/**
 * What a leader sends as snapshot data: the state machine's bytes, plus the log entries at or
 * below the snapshot's index that still hold retained messages (the log is the message store, so
 * a follower that only got the state could not serve those messages).
 */
const TransferSchema = v.object({
  state: v.instance(Uint8Array),
  prevTerm: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
  entries: v.array(
    v.object({
      index: v.pipe(v.number(), v.safeInteger(), v.minValue(1)),
      term: v.pipe(v.number(), v.safeInteger(), v.minValue(0)),
      kind: v.picklist([0, 1]),
      data: v.instance(Uint8Array),
    }),
  ),
});
export interface SnapshotTransfer {
  state: Uint8Array;
  /** Term of the entry just before the first of `entries`. */
  prevTerm: number;
  entries: Entry[];
}

export function packTransfer(transfer: SnapshotTransfer): Uint8Array {
  return encode(transfer);
}

export function unpackTransfer(bytes: Uint8Array): SnapshotTransfer {
  let raw: unknown;
  try {
    raw = decode(bytes);
  } catch (e) {
    throw new MqraftError("CORRUPT", "snapshot from the leader is not CBOR", { cause: e });
  }
  const parsed = v.safeParse(TransferSchema, raw);
  if (!parsed.success)
    throw new MqraftError("CORRUPT", `snapshot from the leader is malformed: ${parsed.issues[0]?.message}`);
  return parsed.output;
}

/**
 * The log as the Raft core sees it: the store, except that the snapshot's data is the packed
 * transfer (built on first use and kept while the snapshot is current), since the core reads it
 * only to send it.
 */
export class TransferLogView implements LogReader {
  private packedFor: Snapshot | undefined;
  private packed: Snapshot | undefined;

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
    const stored = this.store.snapshot();
    if (stored === undefined) return undefined;
    if (this.packedFor !== stored) {
      this.packedFor = stored;
      const store = this.store;
      let data: Uint8Array | undefined;
      this.packed = {
        meta: stored.meta,
        get data() {
          data ??= pack(store, stored);
          return data;
        },
      };
    }
    return this.packed;
  }
}

function pack(store: LogReader, snapshot: Snapshot): Uint8Array {
  const first = store.firstIndex();
  const last = snapshot.meta.index;
  const entries = first <= last ? store.entries(first, last + 1) : [];
  return packTransfer({ state: snapshot.data, prevTerm: store.term(first - 1) ?? 0, entries });
}
