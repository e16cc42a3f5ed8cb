import { MqraftError } from "../util/errors.ts";
import type { Connection, GroupMessage, GroupMessages, GroupPing, GroupRun, Push, Welcome } from "../wire/index.ts";
import { RefusedError } from "./client-errors.ts";
import {
  ANSWER_TYPE,
  type Answer,
  type AnswerTo,
  type ClientReceives,
  type ClientRequest,
  type ClientSends,
  type Unnumbered,
} from "./client-messages.ts";

export type ClientConnection = Connection<ClientReceives, ClientSends>;

/** Called once per request: with its answer, or with why it failed (a refusal, or the connection's end). */
export type Settle<A> = (result: A | MqraftError) => void;

interface Pending {
  expect: Answer["type"];
  settle: Settle<Answer>;
}

const ignore = (): void => {};

/**
 * Requests and answers over one connection after the handshake: numbers each request, pairs each answer with its
 * request by id, hands pushed messages to `onDelivery`. When the connection ends every request still waiting is
 * settled with the reason, so a caller never waits on a dead connection.
 */
export class RequestChannel {
  onDelivery: (push: Push) => void = ignore;
  /** A consumer group's message pushed to this member (group-stream.ts). */
  onGroupMessage: (push: GroupMessage | GroupMessages | GroupRun | GroupPing) => void = ignore;
  /** Once, when the channel ends for any reason (also after `close()`). */
  onClose: (reason: MqraftError) => void = ignore;

  private readonly pending = new Map<number, Pending>();
  private nextId = 0;
  private failure: MqraftError | undefined;

  constructor(
    readonly connection: ClientConnection,
    /** The address this channel was opened to, as the client names it. */
    readonly address: string,
    readonly welcome: Welcome,
  ) {
    connection.onMessage = (message) => this.receive(message);
    connection.onClose = (reason) =>
      this.fail(reason ?? new MqraftError("CONNECTION_CLOSED", `connection to ${address} closed`));
    connection.resume();
  }

  get isOpen(): boolean {
    return this.failure === undefined;
  }

  /** Requests sent and not answered yet. */
  get waiting(): number {
    return this.pending.size;
  }

  /**
   * Sends one request; `settle` runs once, later (never inside this call). Returns false, sending nothing, if the
   * channel has ended. Throws FRAME_TOO_LARGE for a request over the frame limit.
   */
  request<M extends Unnumbered<ClientRequest>>(message: M, settle: Settle<AnswerTo[M["type"]]>): boolean {
    if (this.failure !== undefined) return false;
    const id = this.nextId++;
    if (!this.connection.send({ ...message, id } as ClientRequest)) {
      // the connection is closing; its close event may be turns away, and a caller must not retry on it meanwhile
      this.fail(new MqraftError("CONNECTION_CLOSED", `connection to ${this.address} is closing`));
      return false;
    }
    this.pending.set(id, { expect: ANSWER_TYPE[message.type], settle: settle as Settle<Answer> });
    return true;
  }

  /** `request` as a promise. */
  ask<M extends Unnumbered<ClientRequest>>(message: M): Promise<AnswerTo[M["type"]]> {
    const { promise, resolve, reject } = Promise.withResolvers<AnswerTo[M["type"]]>();
    const sent = this.request(message, (result) => (result instanceof MqraftError ? reject(result) : resolve(result)));
    if (!sent) reject(this.failure ?? new MqraftError("CONNECTION_CLOSED", `connection to ${this.address} closed`));
    return promise;
  }

  /**
   * Ends the channel: waiting requests are settled with CONNECTION_CLOSED inside this call; requests already queued
   * still go out.
   */
  close(): void {
    this.fail(new MqraftError("CONNECTION_CLOSED", `connection to ${this.address} closed by the client`));
  }

  private receive(message: ClientReceives): void {
    switch (message.type) {
      case "message":
      case "gap":
      case "ended":
        this.onDelivery(message);
        return;
      case "group-message":
      case "group-messages":
      case "group-run":
      case "group-ping":
        this.onGroupMessage(message);
        return;
      case "error":
        if (message.id === undefined) {
          // the server is closing the connection: what was waiting did not fail by itself and may be retried
          this.fail(
            new MqraftError(
              "CONNECTION_CLOSED",
              `${this.address} closed the connection: ${message.code}: ${message.message}`,
            ),
          );
          return;
        }
        this.answer(message.id, RefusedError.from(message, this.address), "error");
        return;
      case "published":
      case "registered":
      case "subscribed":
      case "ok":
      case "status":
      case "topic-list":
      case "durable-list":
      case "user-token":
      case "user-list":
      case "snapshot-chunk":
      case "consuming":
      case "group-acked":
      case "group-list":
        this.answer(message.id, message, message.type);
        return;
      case "welcome":
        this.fail(new MqraftError("BAD_MESSAGE", `${this.address} sent a second welcome`));
        return;
      default: {
        const unexpected: never = message;
        this.fail(new MqraftError("BAD_MESSAGE", `${this.address} sent ${(unexpected as { type: string }).type}`));
      }
    }
  }

  private answer(id: number, result: Answer | MqraftError, type: Answer["type"] | "error"): void {
    const pending = this.pending.get(id);
    // an id with nothing waiting answers nothing this side asked: a confused server, but no harm to the others
    if (pending === undefined) return;
    if (type !== "error" && type !== pending.expect) {
      this.fail(
        new MqraftError(
          "BAD_MESSAGE",
          `${this.address} answered request ${id} with ${type}, expected ${pending.expect}`,
        ),
      );
      return;
    }
    this.pending.delete(id);
    pending.settle(result);
  }

  private fail(reason: MqraftError): void {
    if (this.failure !== undefined) return;
    this.failure = reason;
    this.connection.close(reason.code === "BAD_MESSAGE" ? reason : undefined);
    const waiting = [...this.pending.values()];
    this.pending.clear();
    for (const pending of waiting) pending.settle(reason);
    this.onClose(reason);
  }
}
