/** The client library: connect, publish, subscribe, status. Commands and other layers import from here. */
export { type ClientOptions, ClientOptionsSchema, connect, type MqraftClient } from "./client.ts";
export type { ReceivedMessage } from "./message-buffer.ts";
export type { PublishResult } from "./publisher.ts";
export type { ClusterStatus } from "./status.ts";
export { type SubscribeOptions, Subscription } from "./subscription.ts";
