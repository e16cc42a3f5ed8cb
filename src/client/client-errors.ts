import { type ErrorCode, MqraftError } from "../util/errors.ts";
import { type ErrorMessage, TlsHandshakeError } from "../wire/index.ts";

/** A request the server refused, with the leader's address when the refusal is NOT_LEADER and it knows one. */
export class RefusedError extends MqraftError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly leader?: string,
  ) {
    super(code, message);
  }

  static from(message: ErrorMessage, server: string): RefusedError {
    return new RefusedError(message.code, `${server}: ${message.message}`, message.leader);
  }
}

/**
 * Failures that say nothing about the request itself, only about where or when it was sent: the same request may
 * succeed on another connection, another broker or a little later.
 */
const RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "NOT_LEADER",
  "NO_LEADER",
  "UNAVAILABLE",
  "TIMEOUT",
  "CONNECTION_CLOSED",
  "SLOW_CONSUMER",
]);

export function isRetryable(e: unknown): boolean {
  return e instanceof MqraftError && RETRYABLE.has(e.code);
}

/** The leader address a refusal points to, if any. */
export function leaderHint(e: unknown): string | undefined {
  return e instanceof RefusedError && e.code === "NOT_LEADER" ? e.leader : undefined;
}

/**
 * Refusals of the client itself, not of one request or one broker: no retry, on any broker, can change them (a
 * refused token; TLS on one side of the connection only, or a certificate the other side does not trust).
 */
export function isFatal(e: unknown): boolean {
  return e instanceof MqraftError && (e.code === "UNAUTHENTICATED" || e.cause instanceof TlsHandshakeError);
}
