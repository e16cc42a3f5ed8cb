import type { ApplyResult } from "../broker/results.ts";
import { describeError, isMqraftError, MqraftError } from "../util/errors.ts";
import type { Connection, ReadIndexReply, StatusReply, Message as WireMessage } from "../wire/index.ts";

export type Outgoing = WireMessage | StatusReply | ReadIndexReply;

/** How a session answers a request: `ok`, or an error carrying the request's id (and the leader, for NOT_LEADER). */
export class SessionAnswers {
  constructor(
    private readonly connection: Pick<Connection<unknown, Outgoing>, "send">,
    private readonly leaderAddress: () => string | undefined,
  ) {}

  result(id: number, r: ApplyResult): void {
    if (r.type === "error") this.connection.send({ type: "error", id, code: r.code, message: r.message });
    else this.connection.send({ type: "ok", id });
  }

  error(id: number, e: unknown): void {
    const error = isMqraftError(e) ? e : new MqraftError("INTERNAL", describeError(e));
    const leader = error.code === "NOT_LEADER" ? this.leaderAddress() : undefined;
    this.connection.send(
      leader === undefined
        ? { type: "error", id, code: error.code, message: error.message }
        : { type: "error", id, code: error.code, message: error.message, leader },
    );
  }
}
