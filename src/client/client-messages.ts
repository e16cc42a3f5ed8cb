import * as v from "valibot";
import {
  type Ack,
  DeliverySchema,
  ErrorMessageSchema,
  type Hello,
  type Join,
  type Leave,
  type Ok,
  OkSchema,
  type Publish,
  type Published,
  PublishedSchema,
  type StatusReply,
  StatusReplySchema,
  type StatusRequest,
  type Subscribe,
  type Subscribed,
  SubscribedSchema,
  type Transfer,
  type Unsubscribe,
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
  SubscribedSchema,
  DeliverySchema,
  OkSchema,
  StatusReplySchema,
]);
export type ClientReceives = v.InferOutput<typeof ClientReceivesSchema>;

export type ClientRequest = Publish | Subscribe | Ack | Unsubscribe | StatusRequest | Join | Leave | Transfer;
export type ClientSends = Hello | ClientRequest;

/** The answer each request expects when it succeeds. */
export interface AnswerTo {
  publish: Published;
  subscribe: Subscribed;
  ack: Ok;
  unsubscribe: Ok;
  status: StatusReply;
  join: Ok;
  leave: Ok;
  transfer: Ok;
}

export const ANSWER_TYPE = {
  publish: "published",
  subscribe: "subscribed",
  ack: "ok",
  unsubscribe: "ok",
  status: "status",
  join: "ok",
  leave: "ok",
  transfer: "ok",
} as const satisfies { [K in ClientRequest["type"]]: AnswerTo[K]["type"] };

export type Answer = AnswerTo[keyof AnswerTo];

/** A request as its sender writes it: the channel adds the id. */
export type Unnumbered<R extends ClientRequest> = R extends ClientRequest ? Omit<R, "id"> : never;
