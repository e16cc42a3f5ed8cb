/**
 * The client library: connect, publish, subscribe, status. This is the package's export (`import { connect } from
 * "mqraft"`, docs/client.md); commands and other layers import from here too.
 */
export { ERROR_CODES, type ErrorCode, isMqraftError, MqraftError } from "../util/errors.ts";
export { type HeadersInit, MessageHeaders } from "../util/message-headers.ts";
export type { NodeStatus } from "../wire/messages/client.ts";
export type { GroupSummary } from "../wire/messages/group.ts";
export type { UserSummary } from "../wire/messages/users.ts";
export type { MqraftAdmin, RetentionPolicy, UserPermissions } from "./admin-calls.ts";
export {
  type ClientOptions,
  ClientOptionsSchema,
  connect,
  type MqraftClient,
  type PublishOptions,
  type SubscribeCallbacks,
} from "./client.ts";
export type { ConsumedBatch, ConsumedMessage, ConsumeOptions, FetchOptions, GroupStream } from "./group-stream.ts";
export type { ReceivedMessage } from "./message-buffer.ts";
export type { PublishResult } from "./publisher.ts";
export type { ClusterStatus, MemberStatus, MemberSubscribers } from "./status.ts";
export { type ReconnectEvent, type SubscribeOptions, Subscription } from "./subscription.ts";
