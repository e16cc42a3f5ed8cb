import * as v from "valibot";
import {
  DurableListSchema,
  ListDurablesSchema,
  ListTopicsSchema,
  PurgeTopicSchema,
  RemoveDurableSchema,
  SeekDurableSchema,
  TopicListSchema,
} from "./admin.ts";
import {
  AckSchema,
  DeliverySchema,
  GapSchema,
  OkSchema,
  PublishedSchema,
  PublishSchema,
  ReadIndexReplySchema,
  ReadIndexRequestSchema,
  RegisteredSchema,
  RegisterSchema,
  RetentionRequestSchema,
  StatusReplySchema,
  StatusRequestSchema,
  SubscribedSchema,
  SubscribeSchema,
  SubscriptionEndedSchema,
  UnsubscribeSchema,
} from "./client.ts";
import { ErrorMessageSchema } from "./error.ts";
import {
  ConsumeSchema,
  ConsumingSchema,
  GroupAckedSchema,
  GroupAckSchema,
  GroupListSchema,
  GroupMessageSchema,
  GroupMessagesSchema,
  GroupPingSchema,
  GroupRunSchema,
  ListGroupsSchema,
  RemoveGroupSchema,
} from "./group.ts";
import { ChallengeSchema, HelloSchema, ProofSchema, WelcomeSchema } from "./handshake.ts";
import { ReportSchema } from "./manager.ts";
import { JoinSchema, LeaveSchema, TransferSchema } from "./membership.ts";
import { RAFT_MESSAGE_SCHEMAS } from "./raft.ts";
import { SnapshotChunkSchema, SnapshotReadSchema } from "./snapshot.ts";
import { USER_REPLY_SCHEMAS, USER_REQUEST_SCHEMAS } from "./users.ts";

/**
 * What each side of a connection may receive, as one discriminated union on `type` per role. A new message is one
 * more schema in the list of every role that receives it.
 */

/** Admin requests go to brokers only (the leader serves them), not through a manager. */
const ADMIN_REQUEST_SCHEMAS = [
  ListTopicsSchema,
  PurgeTopicSchema,
  ListDurablesSchema,
  RemoveDurableSchema,
  SeekDurableSchema,
  ...USER_REQUEST_SCHEMAS,
  SnapshotReadSchema,
] as const;
const ADMIN_REPLY_SCHEMAS = [TopicListSchema, DurableListSchema, ...USER_REPLY_SCHEMAS, SnapshotChunkSchema] as const;
/** Consumer groups (group.ts): requests a broker receives, and what it answers and pushes. */
const GROUP_REQUEST_SCHEMAS = [ConsumeSchema, GroupAckSchema, ListGroupsSchema, RemoveGroupSchema] as const;
const GROUP_REPLY_SCHEMAS = [
  ConsumingSchema,
  GroupMessageSchema,
  GroupMessagesSchema,
  GroupRunSchema,
  GroupPingSchema,
  GroupAckedSchema,
  GroupListSchema,
] as const;

/** Received by a broker's port from whoever connected (clients, peer brokers, managers). */
export const ServerInboundSchema = v.variant("type", [
  HelloSchema,
  ProofSchema,
  ErrorMessageSchema,
  PublishSchema,
  RegisterSchema,
  SubscribeSchema,
  AckSchema,
  UnsubscribeSchema,
  StatusRequestSchema,
  ReadIndexRequestSchema,
  RetentionRequestSchema,
  JoinSchema,
  LeaveSchema,
  TransferSchema,
  ...ADMIN_REQUEST_SCHEMAS,
  ...GROUP_REQUEST_SCHEMAS,
  ...RAFT_MESSAGE_SCHEMAS,
]);
export type ServerInbound = v.InferOutput<typeof ServerInboundSchema>;

/** Received by a manager's port: the handshake, clients' requests and brokers' reports; never Raft traffic. */
export const ManagerInboundSchema = v.variant("type", [
  HelloSchema,
  ProofSchema,
  ErrorMessageSchema,
  PublishSchema,
  RegisterSchema,
  SubscribeSchema,
  AckSchema,
  UnsubscribeSchema,
  StatusRequestSchema,
  JoinSchema,
  LeaveSchema,
  TransferSchema,
  ReportSchema,
]);
export type ManagerInbound = v.InferOutput<typeof ManagerInboundSchema>;

/** Received by the side that connected (client, broker dialing a peer, manager dialing a broker). */
export const ClientInboundSchema = v.variant("type", [
  ...RAFT_MESSAGE_SCHEMAS,
  WelcomeSchema,
  ChallengeSchema,
  ErrorMessageSchema,
  PublishedSchema,
  RegisteredSchema,
  SubscribedSchema,
  DeliverySchema,
  GapSchema,
  SubscriptionEndedSchema,
  OkSchema,
  StatusReplySchema,
  ...ADMIN_REPLY_SCHEMAS,
  ...GROUP_REPLY_SCHEMAS,
  ReadIndexReplySchema,
]);
export type ClientInbound = v.InferOutput<typeof ClientInboundSchema>;

/**
 * Every message of the protocol, whoever receives it. `status` names both a request and its reply: the reply comes
 * first, so that a reply is not taken for a request with its other fields dropped (a variant keeps the first option
 * that validates); test/wire/messages.test.ts checks that every role's messages are here.
 */
export const MessageSchema = v.variant("type", [
  HelloSchema,
  WelcomeSchema,
  ChallengeSchema,
  ProofSchema,
  ErrorMessageSchema,
  PublishSchema,
  RegisterSchema,
  SubscribeSchema,
  AckSchema,
  UnsubscribeSchema,
  StatusReplySchema,
  StatusRequestSchema,
  ReadIndexReplySchema,
  ReadIndexRequestSchema,
  RetentionRequestSchema,
  JoinSchema,
  LeaveSchema,
  TransferSchema,
  PublishedSchema,
  RegisteredSchema,
  SubscribedSchema,
  DeliverySchema,
  GapSchema,
  SubscriptionEndedSchema,
  OkSchema,
  ReportSchema,
  ...ADMIN_REQUEST_SCHEMAS,
  ...ADMIN_REPLY_SCHEMAS,
  ...GROUP_REQUEST_SCHEMAS,
  ...GROUP_REPLY_SCHEMAS,
  ...RAFT_MESSAGE_SCHEMAS,
]);
export type Message = v.InferOutput<typeof MessageSchema>;
