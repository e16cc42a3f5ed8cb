import * as v from "valibot";
import type { HardState, Snapshot } from "../raft/log-types.ts";
import { decode, encode } from "../util/cbor-x.ts";
import { MqraftError } from "../util/errors.ts";
import { snapshotParts } from "./parts-snapshot.ts";
import { sealParts, unseal } from "./sealed-file.ts";

/** Codecs of the three small state files; each body is validated as it comes off the disk. (The install intent, install-intent.ts, is the fourth.) */

const MAGIC_HARD_STATE = 0x4d514853; // "MQHS"
const MAGIC_SNAPSHOT = 0x4d51534e; // "MQSN"
const MAGIC_DAMAGE = 0x4d51444d; // "MQDM"

export const Count = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const NodeIdSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(1));

const HardStateSchema = v.strictObject({ term: Count, vote: Count, commit: Count });

const SnapshotMetaSchema = v.strictObject({
  index: Count,
  term: Count,
  membership: v.strictObject({
    voters: v.array(NodeIdSchema),
    learners: v.array(NodeIdSchema),
    addresses: v.record(v.string(), v.string()),
  }),
});

/**
 * Left by a repair: the log was cut at `fromIndex` (in `file` at byte `offset`, for `reason`) and
 * may have lost entries up to `untilIndex` that this node had acknowledged. Until its log is durable
 * past `untilIndex` again, or holds an entry of a term above `aboveTerm` (refilled from the leader), the node must not
 * vote or lead.
 */
export const DamageSchema = v.strictObject({
  fromIndex: v.pipe(Count, v.minValue(1)),
  untilIndex: Count,
  file: v.string(),
  offset: Count,
  reason: v.string(),
  /**
   * The node's term when it was repaired (its hard state's, or its log's if higher): once its log holds an entry of a
   * later term durably it may vote again, even below `untilIndex` (docs/storage.md). Absent in markers of old versions.
   */
  aboveTerm: v.optional(Count),
});
export type Damage = v.InferOutput<typeof DamageSchema>;

/** A CBOR body validated against its schema; anything else is CORRUPT naming the file. */
export function decodeBody<S extends v.GenericSchema>(path: string, body: Uint8Array, schema: S): v.InferOutput<S> {
  let value: unknown;
  try {
    value = decode(body);
  } catch (e) {
    throw new MqraftError("CORRUPT", `${path} is damaged: its body is not CBOR`, { cause: e });
  }
  const parsed = v.safeParse(schema, value);
  if (!parsed.success) {
    throw new MqraftError("CORRUPT", `${path} is damaged: ${v.summarize(parsed.issues).replaceAll("\n", "; ")}`);
  }
  return parsed.output;
}

export function encodeHardState(hs: HardState): Uint8Array[] {
  return sealParts(MAGIC_HARD_STATE, [encode({ term: hs.term, vote: hs.vote, commit: hs.commit })]);
}

export function decodeHardState(path: string, bytes: Uint8Array): HardState {
  return decodeBody(path, unseal(path, MAGIC_HARD_STATE, bytes), HardStateSchema);
}

export function encodeDamage(d: Damage): Uint8Array[] {
  return sealParts(MAGIC_DAMAGE, [encode({ ...d })]);
}

export function decodeDamage(path: string, bytes: Uint8Array): Damage {
  return decodeBody(path, unseal(path, MAGIC_DAMAGE, bytes), DamageSchema);
}

/** Snapshot body: metadata length u32 | metadata (CBOR) | the state machine's bytes, as they are. */
export function encodeSnapshot(s: Snapshot): Uint8Array[] {
  const m = s.meta.membership;
  const meta = encode({
    index: s.meta.index,
    term: s.meta.term,
    membership: { voters: [...m.voters], learners: [...m.learners], addresses: { ...m.addresses } },
  });
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, meta.length);
  return sealParts(MAGIC_SNAPSHOT, [len, meta, ...snapshotParts(s)]);
}

export function decodeSnapshot(path: string, bytes: Uint8Array): Snapshot {
  const body = unseal(path, MAGIC_SNAPSHOT, bytes);
  if (body.length < 4) throw new MqraftError("CORRUPT", `${path} is damaged: no metadata length`);
  const metaLength = new DataView(body.buffer, body.byteOffset, body.byteLength).getUint32(0);
  if (4 + metaLength > body.length) throw new MqraftError("CORRUPT", `${path} is damaged: metadata runs past the end`);
  const meta = decodeBody(path, body.subarray(4, 4 + metaLength), SnapshotMetaSchema);
  return { meta, data: body.slice(4 + metaLength) };
}
