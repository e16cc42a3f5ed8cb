import * as v from "valibot";
import { ByteCountSchema, NodeIdSchema, ProtocolVersionSchema } from "./fields.ts";

/** The protocol this code speaks; a hello carrying another version is answered with UNSUPPORTED_VERSION. */
export const PROTOCOL_VERSION = 1;

export const PEER_ROLES = ["client", "peer", "manager"] as const;

/** First message on every connection, from the side that connected. */
export const HelloSchema = v.object({
  type: v.literal("hello"),
  version: ProtocolVersionSchema,
  // carried from the start so that authentication can be switched on without changing the handshake
  token: v.optional(v.string()),
  role: v.optional(v.picklist(PEER_ROLES)),
  // the sender's node id when it is a broker (role "peer")
  id: v.optional(NodeIdSchema),
  // a founding broker's founding configuration (`1=host:port,...`): brokers founded differently refuse each other
  founding: v.optional(v.pipe(v.string(), v.maxLength(1 << 16))),
});
export type Hello = v.InferOutput<typeof HelloSchema>;

/** The answer to an accepted hello. */
export const WelcomeSchema = v.object({
  type: v.literal("welcome"),
  version: ProtocolVersionSchema,
  // the answering broker's id; absent when a manager answers
  nodeId: v.optional(NodeIdSchema),
  // the largest frame body the answering side accepts
  maxFrameBytes: v.optional(ByteCountSchema),
  /** The leader the answering broker knows of, if any. */
  leader: v.optional(NodeIdSchema),
  /** The cluster as the answering side knows it, so that a client given one address finds the others. */
  members: v.optional(v.array(v.object({ id: NodeIdSchema, address: v.string(), voter: v.boolean() }))),
});
export type Welcome = v.InferOutput<typeof WelcomeSchema>;
