import * as v from "valibot";

/**
 * `mqraft snapshot save`: the client reads the leader's snapshot stream (docs/snapshots.md) a chunk at a time, one
 * request per chunk, so the stream is never more than one chunk in flight and never one frame.
 */
const RequestIdSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const CountSchema = v.pipe(v.number(), v.safeInteger(), v.minValue(0));

/**
 * Bytes of the snapshot stream from `offset`. Without `index` (offset 0) the leader takes a snapshot of its state at
 * its applied index, if it has applied entries since its last one, and streams that; with `index` it goes on with
 * the stream of the snapshot at that index, or answers UNAVAILABLE when it no longer has it.
 */
export const SnapshotReadSchema = v.object({
  type: v.literal("snapshot-read"),
  id: RequestIdSchema,
  index: v.optional(v.pipe(v.number(), v.safeInteger(), v.minValue(1))),
  offset: CountSchema,
});

export const SnapshotChunkSchema = v.object({
  type: v.literal("snapshot-chunk"),
  id: RequestIdSchema,
  /** The snapshot's last log index and its term. */
  index: v.pipe(v.number(), v.safeInteger(), v.minValue(1)),
  term: CountSchema,
  offset: CountSchema,
  data: v.instance(Uint8Array),
  /** Set on the chunk that ends the stream. */
  done: v.boolean(),
});

export type SnapshotRead = v.InferOutput<typeof SnapshotReadSchema>;
export type SnapshotChunkReply = v.InferOutput<typeof SnapshotChunkSchema>;
