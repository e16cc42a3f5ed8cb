import type { ErrorCode } from "../util/errors.ts";
import type { Retention } from "./commands.ts";
import type { GroupResult } from "./groups/group-commands.ts";

/**
 * What applying a command produced: plain data, identical on every replica. A publish yields one
 * result per message (by slot), every other command one result. Refusals are results, never
 * exceptions, so that a bad command in a committed entry cannot stop or split the replicas.
 */

/** A durable subscription's next offset to deliver in one of its topics. */
export interface TopicPosition {
  topic: string;
  position: number;
}

export type BrokerErrorCode = Extract<ErrorCode, "BAD_MESSAGE" | "NOT_FOUND" | "REFUSED" | "OUT_OF_ORDER" | "FENCED">;

export interface PublishResult {
  type: "publish";
  topic: string;
  offset: number;
  /** Set when (producer, seq) was already stored: topic and offset are those of the original. */
  duplicate?: true;
}

export interface ErrorResult {
  type: "error";
  code: BrokerErrorCode;
  message: string;
}

export type ApplyResult =
  | PublishResult
  | { type: "subscribe"; name: string; created: boolean; positions: TopicPosition[] }
  | { type: "unsubscribe"; name: string }
  | { type: "seek"; name: string; positions: TopicPosition[] }
  | { type: "ack"; name: string; topic: string; position: number }
  | { type: "config"; retention: Retention }
  | { type: "register"; producer: string; epoch: number }
  | { type: "purge"; topic: string; dropped: number }
  | { type: "tick" }
  | GroupResult
  | { type: "user-add" | "user-remove" | "user-rotate"; name: string }
  | ErrorResult;

export function refusal(code: BrokerErrorCode, message: string): ErrorResult {
  return { type: "error", code, message };
}
