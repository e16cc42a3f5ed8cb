import { isMqraftError } from "../../src/util/errors.ts";

/** The BAD_USAGE message `parse` throws, failing the test if it throws anything else or nothing. */
export function usageMessage(parse: () => unknown): string {
  try {
    parse();
  } catch (e) {
    if (isMqraftError(e, "BAD_USAGE")) return e.message;
    throw e;
  }
  throw new Error("expected a BAD_USAGE error, got a result");
}
