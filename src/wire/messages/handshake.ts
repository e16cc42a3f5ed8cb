import * as v from "valibot";
import { ByteCountSchema, NodeIdSchema, ProtocolVersionSchema } from "./fields.ts";

/** The protocol this code speaks; a hello carrying another version is answered with UNSUPPORTED_VERSION. */
export const PROTOCOL_VERSION = 1;

export const PEER_ROLES = ["client", "peer", "manager"] as const;

/** 32 random bytes as hex: a handshake nonce, or an HMAC-SHA256 proof. */
const NonceSchema = v.pipe(v.string(), v.regex(/^[0-9a-f]{64}$/, "expected 64 lowercase hex digits"));

/** First message on every connection, from the side that connected. */
export const HelloSchema = v.object({
  type: v.literal("hello"),
  version: ProtocolVersionSchema,
  // carried from the start so that authentication can be switched on without changing the handshake
  token: v.optional(v.pipe(v.string(), v.maxLength(4096, "a token of at most 4096 characters"))),
  role: v.optional(v.picklist(PEER_ROLES)),
  // the sender's node id when it is a broker (role "peer")
  id: v.optional(NodeIdSchema),
  // a founding broker's founding configuration (`1=host:port,...`): brokers founded differently refuse each other
  founding: v.optional(v.pipe(v.string(), v.maxLength(1 << 16))),
  // the dialer's nonce for the cluster-secret challenge (docs/security.md), on peer and manager links
  nonce: v.optional(NonceSchema),
  // a peer link that carries only the dialer's appends and snapshot chunks, so that heartbeats and votes on the
  // other link never wait behind a large entry (src/node/peer-network.ts)
  lane: v.optional(v.literal("bulk")),
  // a broker's highest replicated-command version (docs/state-machine.md, "Command versions"); absent: 1
  commands: v.optional(ProtocolVersionSchema),
});
export type Hello = v.InferOutput<typeof HelloSchema>;

/** The accepting side's answer to a hello with a nonce: its own nonce and its proof of the cluster secret. */
export const ChallengeSchema = v.object({
  type: v.literal("challenge"),
  nonce: NonceSchema,
  // who answers: "node:N" for a broker, "manager" for a manager; signed by the proof
  identity: v.pipe(v.string(), v.regex(/^(node:[1-9][0-9]{0,15}|manager)$/, "expected node:N or manager")),
  proof: NonceSchema,
  // during a rotation of the secret (docs/security.md), the same proof under the accepter's previous secret
  previousProof: v.optional(NonceSchema),
});
export type Challenge = v.InferOutput<typeof ChallengeSchema>;

/** The dialer's proof of the cluster secret, after it verified the challenge; nothing else is accepted before it. */
export const ProofSchema = v.object({
  type: v.literal("proof"),
  proof: NonceSchema,
});
export type Proof = v.InferOutput<typeof ProofSchema>;

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
