/** Every failure that crosses a process or protocol edge carries one of these codes. */
export const ERROR_CODES = [
  "BAD_FRAME",
  "FRAME_TOO_LARGE",
  "BAD_MESSAGE",
  "UNSUPPORTED_VERSION",
  "UNAUTHORIZED",
  "UNAUTHENTICATED",
  /** Authenticated, but the user lacks the permission the request needs (the message names it). */
  "FORBIDDEN",
  "NOT_LEADER",
  "NO_LEADER",
  "TIMEOUT",
  "UNAVAILABLE",
  "SLOW_CONSUMER",
  "CONNECTION_CLOSED",
  "BAD_USAGE",
  "BAD_CONFIG",
  "NOT_FOUND",
  "REFUSED",
  "CORRUPT",
  "LOCKED",
  /** The broker's disk is below its --min-free-space (or full): it refuses writes until space returns. */
  "DISK_FULL",
  "INTERNAL",
  "OUT_OF_ORDER",
  "FENCED",
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class MqraftError extends Error {
  override readonly name = "MqraftError";
  constructor(
    readonly code: ErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isMqraftError(e: unknown, code?: ErrorCode): e is MqraftError {
  return e instanceof MqraftError && (code === undefined || e.code === code);
}

/** A readable one-line description of anything thrown. */
export function describeError(e: unknown): string {
  if (e instanceof MqraftError) return `${e.code}: ${e.message}`;
  if (e instanceof Error) return e.message;
  return String(e);
}
