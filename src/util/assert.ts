/**
 * Invariants, checked in production too (as TigerBeetle and etcd do): a failed one is a bug in
 * mqraft, never something a user or a peer caused, so it is kept apart from MqraftError (the errors
 * with a code that cross the protocol edge). Going on after one would act on a state that cannot
 * be, and may lose or fork committed data: the process should stop.
 */
export class AssertionError extends Error {
  override readonly name = "AssertionError";
}

/** Throws AssertionError unless `condition` holds; `what` (a function on hot paths) says what broke. */
export function assert(condition: unknown, what: string | (() => string)): asserts condition {
  if (!condition) throw new AssertionError(`invariant broken: ${typeof what === "string" ? what : what()}`);
}
