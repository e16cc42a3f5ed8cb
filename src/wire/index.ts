/** The wire layer: frames, messages and connections. Other layers import from here. */
export { decodeValue, encodeValue, isCborNativeAccelerationEnabled, MAX_NESTING_DEPTH } from "./cbor.ts";
export { type ConnectOptions, connect } from "./connect.ts";
export {
  Connection,
  type ConnectionOptions,
  DEFAULT_CLOSE_TIMEOUT_MS,
  DEFAULT_LOW_WATER_BYTES,
  DEFAULT_MAX_QUEUED_BYTES,
  sumMemory,
} from "./connection.ts";
export { FrameDecoder, NEED_MORE } from "./frame-decoder.ts";
export { encodeFrame, encodeFrames, FrameBatch } from "./frame-encoder.ts";
export { DEFAULT_MAX_FRAME_BYTES, FRAME_HEADER_BYTES } from "./frame-format.ts";
export { helloError } from "./handshake.ts";
export { type Listener, type ListenOptions, listen } from "./listen.ts";
export * from "./messages/admin.ts";
export * from "./messages/client.ts";
export { type ErrorMessage, ErrorMessageSchema, errorFromMessage, errorMessage } from "./messages/error.ts";
export * from "./messages/group.ts";
export {
  type Challenge,
  ChallengeSchema,
  type Hello,
  HelloSchema,
  PEER_ROLES,
  PROTOCOL_VERSION,
  type Proof,
  ProofSchema,
  type Welcome,
  WelcomeSchema,
} from "./messages/handshake.ts";
export * from "./messages/manager.ts";
export * from "./messages/membership.ts";
export { createMessageParser, type MessageParser, parseMessage } from "./messages/parse.ts";
export { RaftMessageSchema, type WireRaftMessage } from "./messages/raft.ts";
export * from "./messages/snapshot.ts";
export {
  type ClientInbound,
  ClientInboundSchema,
  type ManagerInbound,
  ManagerInboundSchema,
  type Message,
  MessageSchema,
  type ServerInbound,
  ServerInboundSchema,
} from "./messages/unions.ts";
export * from "./messages/users.ts";
export { outputBuffers } from "./outgoing-queue.ts";
export { type ClientTls, dialTls, type ServerTls, setDialTls, TlsHandshakeError } from "./tls-options.ts";
