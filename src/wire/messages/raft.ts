import * as v from "valibot";

/**
 * Raft messages between brokers (`role: "peer"` connections). The schemas mirror src/raft/messages.ts
 * (the wire layer sits below raft, so src/node/peer-messages.ts holds the check that they agree).
 */

const Whole = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const Id = v.pipe(v.number(), v.safeInteger(), v.minValue(0));
const Bytes = v.instance(Uint8Array);

const EntrySchema = v.object({
  index: Whole,
  term: Whole,
  kind: v.picklist([0, 1]),
  data: Bytes,
});

const MembershipSchema = v.object({
  voters: v.array(Id),
  learners: v.array(Id),
  addresses: v.record(v.string(), v.string()),
});

const header = { from: Id, to: Id, term: Whole };

export const RaftAppendSchema = v.object({
  type: v.literal("append"),
  ...header,
  index: Whole,
  logTerm: Whole,
  entries: v.array(EntrySchema),
  commit: Whole,
});

export const RaftAppendResponseSchema = v.object({
  type: v.literal("appendResponse"),
  ...header,
  index: Whole,
  reject: v.boolean(),
  hintIndex: Whole,
  hintTerm: Whole,
});

export const RaftHeartbeatSchema = v.object({
  type: v.literal("heartbeat"),
  ...header,
  commit: Whole,
  cluster: v.object({ membership: MembershipSchema, reachable: v.array(Id) }),
});

export const RaftHeartbeatResponseSchema = v.object({ type: v.literal("heartbeatResponse"), ...header });

const voteRequest = (type: "vote" | "preVote") =>
  v.object({
    type: v.literal(type),
    ...header,
    lastIndex: Whole,
    lastTerm: Whole,
    transfer: v.boolean(),
    commit: v.optional(Whole),
    commitTerm: v.optional(Whole),
  });
const voteResponse = (type: "voteResponse" | "preVoteResponse") =>
  v.object({
    type: v.literal(type),
    ...header,
    reject: v.boolean(),
    commit: v.optional(Whole),
    commitTerm: v.optional(Whole),
  });

export const RaftVoteSchema = voteRequest("vote");
export const RaftPreVoteSchema = voteRequest("preVote");
export const RaftVoteResponseSchema = voteResponse("voteResponse");
export const RaftPreVoteResponseSchema = voteResponse("preVoteResponse");

export const RaftSnapshotSchema = v.object({
  type: v.literal("snapshot"),
  ...header,
  meta: v.object({ index: Whole, term: Whole, membership: MembershipSchema }),
  offset: Whole,
  data: Bytes,
  done: v.boolean(),
});

export const RaftSnapshotResponseSchema = v.object({
  type: v.literal("snapshotResponse"),
  ...header,
  index: Whole,
  offset: Whole,
});

export const RaftTimeoutNowSchema = v.object({ type: v.literal("timeoutNow"), ...header });

export const RAFT_MESSAGE_SCHEMAS = [
  RaftAppendSchema,
  RaftAppendResponseSchema,
  RaftHeartbeatSchema,
  RaftHeartbeatResponseSchema,
  RaftVoteSchema,
  RaftPreVoteSchema,
  RaftVoteResponseSchema,
  RaftPreVoteResponseSchema,
  RaftSnapshotSchema,
  RaftSnapshotResponseSchema,
  RaftTimeoutNowSchema,
] as const;

export const RaftMessageSchema = v.variant("type", RAFT_MESSAGE_SCHEMAS);
export type WireRaftMessage = v.InferOutput<typeof RaftMessageSchema>;
