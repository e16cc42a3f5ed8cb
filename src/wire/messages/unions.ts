import * as v from "valibot";
import { ErrorMessageSchema } from "./error.ts";
import { HelloSchema, WelcomeSchema } from "./handshake.ts";
import { RAFT_MESSAGE_SCHEMAS } from "./raft.ts";
import { JoinSchema, LeaveSchema, TransferSchema } from "./membership.ts";
import {
  AckSchema,
  DeliverySchema,
  OkSchema,
  PublishedSchema,
  PublishSchema,
  StatusReplySchema,
  StatusRequestSchema,
  SubscribedSchema,
  SubscribeSchema,
  UnsubscribeSchema,
} from "./client.ts";

/**
 * What each side of a connection may receive, as one discriminated union on `type` per role. A new message is one
 * more schema in the list of every role that receives it.
 */

/** Received by a listening port (broker or manager) from whoever connected. */
export const ServerInboundSchema = v.variant("type", [
  HelloSchema,
  ErrorMessageSchema,
  PublishSchema,
  SubscribeSchema,
  AckSchema,
  UnsubscribeSchema,
  StatusRequestSchema,
  JoinSchema,
  LeaveSchema,
  TransferSchema,
  ...RAFT_MESSAGE_SCHEMAS,
]);
export type ServerInbound = v.InferOutput<typeof ServerInboundSchema>;

/** Received by the side that connected (client, broker dialing a peer, manager dialing a broker). */
export const ClientInboundSchema = v.variant("type", [
  ...RAFT_MESSAGE_SCHEMAS,
  WelcomeSchema,
  ErrorMessageSchema,
  PublishedSchema,
  SubscribedSchema,
  DeliverySchema,
  OkSchema,
  StatusReplySchema,
]);
export type ClientInbound = v.InferOutput<typeof ClientInboundSchema>;

/** Every message of the protocol. */
export const MessageSchema = v.variant("type", [
  HelloSchema,
  WelcomeSchema,
  ErrorMessageSchema,
  PublishSchema,
  SubscribeSchema,
  AckSchema,
  UnsubscribeSchema,
  PublishedSchema,
  SubscribedSchema,
  DeliverySchema,
  OkSchema,
]);
export type Message = v.InferOutput<typeof MessageSchema>;
