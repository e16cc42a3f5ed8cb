/**
 * What a broker on an empty data folder asks before it votes (src/node/fresh-folder-guard.ts): the cluster's members
 * with their terms and log ends, from `servers` (the other founders, or where `mqraft join` asks).
 */
import { now } from "../src/client/deadline.ts";
import { ServerPool } from "../src/client/server-pool.ts";
import { fetchStatus } from "../src/client/status.ts";
import type { MembersView } from "../src/node/fresh-folder-guard.ts";
import { isMqraftError } from "../src/util/errors.ts";

const ASK_TIMEOUT_MS = 3_000;

/** The members as `mqraft status` sees them, or undefined when every server refuses at once (all are starting). */
export async function askMembers(servers: readonly string[], token?: string): Promise<MembersView | undefined> {
  if (servers.length === 0) return undefined;
  const pool = new ServerPool(servers, ASK_TIMEOUT_MS, token === undefined ? {} : { token });
  try {
    const deadline = now() + ASK_TIMEOUT_MS;
    try {
      pool.keepSpare(await pool.openBroker(deadline, undefined, 0));
    } catch (e) {
      if (isMqraftError(e, "UNAVAILABLE") || isMqraftError(e, "TIMEOUT")) return undefined;
      throw e;
    }
    return await fetchStatus(pool, deadline);
  } finally {
    pool.close();
  }
}
