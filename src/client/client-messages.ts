import * as v from "valibot";
import {
  type Ack,
  type Consume,
  type Consuming,
  ConsumingSchema,
  DeliverySchema,
  type DurableList,
  DurableListSchema,
  ErrorMessageSchema,
  GapSchema,
  type GroupAck,
  type GroupAcked,
  GroupAckedSchema,
  type GroupList,
  GroupListSchema,
  GroupMessageSchema,
  GroupMessagesSchema,
  GroupPingSchema,
  GroupRunSchema,
  type Hello,
  type Join,
  type Leave,
  type ListDurables,
  type ListGroups,
  type ListTopics,
  type Ok,
  OkSchema,
  type Publish,
  type Published,
  PublishedSchema,
  type PurgeTopic,
  type Register,
  type Registered,
  RegisteredSchema,
  type RemoveDurable,
  type RemoveGroup,
  type RetentionRequest,
  type SeekDurable,
  type SnapshotChunkReply,
  SnapshotChunkSchema,
  type SnapshotRead,
  type StatusReply,
  StatusReplySchema,
  type StatusRequest,
  type Subscribe,
  type Subscribed,
  SubscribedSchema,
  SubscriptionEndedSchema,
  type TopicList,
  TopicListSchema,
  type Transfer,
  type Unsubscribe,
  type UserList,
  UserListSchema,
  type UserRequest,
  type UserToken,
  UserTokenSchema,
  WelcomeSchema,
} from "../wire/index.ts";

/**
 * What a client receives on a broker or manager port: the handshake answer, answers to its requests and pushed
 * messages. Narrower than the wire's ClientInbound (which also carries broker-to-broker traffic), so that a client
 * switch over it is exhaustive over exactly what a client can meet.
 */
export const ClientReceivesSchema = v.variant("type", [
  WelcomeSchema,
  ErrorMessageSchema,
  PublishedSchema,
  RegisteredSchema,
  SubscribedSchema,
  DeliverySchema,
  GapSchema,
  SubscriptionEndedSchema,
  OkSchema,
  StatusReplySchema,
  TopicListSchema,
  DurableListSchema,
  UserTokenSchema,
  UserListSchema,
  SnapshotChunkSchema,
  ConsumingSchema,
  GroupMessageSchema,
  GroupMessagesSchema,
  GroupRunSchema,
  GroupPingSchema,
  GroupAckedSchema,
  GroupListSchema,
]);
export type ClientReceives = v.InferOutput<typeof ClientReceivesSchema>;

export type ClientRequest =
  | Publish
  | Register
  | Subscribe
  | Ack
  | Unsubscribe
  | StatusRequest
  | Join
  | Leave
  | Transfer
  | ListTopics
  | PurgeTopic
  | ListDurables
  | RemoveDurable
  | SeekDurable
  | UserRequest
  | RetentionRequest
  | SnapshotRead
  | Consume
  | GroupAck
  | ListGroups
  | RemoveGroup;
export type ClientSends = Hello | ClientRequest;

/** The answer each request expects when it succeeds. */
export interface AnswerTo {
  publish: Published;
  register: Registered;
  subscribe: Subscribed;
  ack: Ok;
  unsubscribe: Ok;
  status: StatusReply;
  join: Ok;
  leave: Ok;
  transfer: Ok;
  "list-topics": TopicList;
  "purge-topic": TopicList;
  "list-durables": DurableList;
  "remove-durable": Ok;
  "seek-durable": DurableList;
  "add-user": UserToken;
  "rotate-user": UserToken;
  "remove-user": Ok;
  "list-users": UserList;
  retention: Ok;
  "snapshot-read": SnapshotChunkReply;
  consume: Consuming;
  "group-ack": GroupAcked;
  "list-groups": GroupList;
  "remove-group": Ok;
}

export const ANSWER_TYPE = {
  publish: "published",
  register: "registered",
  subscribe: "subscribed",
  ack: "ok",
  unsubscribe: "ok",
  status: "status",
  join: "ok",
  leave: "ok",
  transfer: "ok",
  "list-topics": "topic-list",
  "purge-topic": "topic-list",
  "list-durables": "durable-list",
  "remove-durable": "ok",
  "seek-durable": "durable-list",
  "add-user": "user-token",
  "rotate-user": "user-token",
  "remove-user": "ok",
  "list-users": "user-list",
  retention: "ok",
  "snapshot-read": "snapshot-chunk",
  consume: "consuming",
  "group-ack": "group-acked",
  "list-groups": "group-list",
  "remove-group": "ok",
} as const satisfies { [K in ClientRequest["type"]]: AnswerTo[K]["type"] };

export type Answer = AnswerTo[keyof AnswerTo];

/** A request as its sender writes it: the channel adds the id. */
export type Unnumbered<R extends ClientRequest> = R extends ClientRequest ? Omit<R, "id"> : never;
