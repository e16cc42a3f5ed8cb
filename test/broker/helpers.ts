import { expect } from "bun:test";
import { encodeCommand } from "../../src/broker/command-codec.ts";
import type { Command, PublishMessage } from "../../src/broker/commands.ts";
import type { ApplyResult, BrokerErrorCode, PublishResult } from "../../src/broker/results.ts";
import type { BrokerState } from "../../src/broker/state-machine.ts";

/** A command time in ms; tests count from here. */
export const T0 = 1_700_000_000_000;

const utf8 = new TextEncoder();

export function msg(topic: string, body = "x", producer?: string, seq?: number): PublishMessage {
  const data = utf8.encode(body);
  return producer === undefined ? { topic, data } : { topic, data, producer, seq };
}

/** Encodes and applies `command` as the next log entry. */
export function applyNext(state: BrokerState, command: Command): ApplyResult[] {
  return state.apply(state.appliedIndex + 1, encodeCommand(command));
}

export function publish(state: BrokerState, time: number, ...messages: PublishMessage[]): ApplyResult[] {
  return applyNext(state, { type: "publish", time, messages });
}

/** The results of a publish that must all have been accepted. */
export function published(results: ApplyResult[]): PublishResult[] {
  return results.map((r) => {
    if (r.type !== "publish") throw new Error(`expected a publish result, got ${JSON.stringify(r)}`);
    return r;
  });
}

/** The offsets given to the messages of one publish, which must all have been accepted. */
export function offsets(results: ApplyResult[]): number[] {
  return published(results).map((r) => r.offset);
}

export function expectError(results: ApplyResult[], code: BrokerErrorCode, messagePart?: string): void {
  expect(results).toHaveLength(1);
  const result = results[0];
  if (result?.type !== "error") throw new Error(`expected a ${code} error, got ${JSON.stringify(result)}`);
  expect(result.code).toBe(code);
  if (messagePart !== undefined) expect(result.message).toContain(messagePart);
}
