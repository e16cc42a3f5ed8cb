import type { Logger } from "../util/log.ts";
import type { ClusterAuth } from "./peer-handshake.ts";
import { RefusalLog } from "./refusal-log.ts";
import { readSecretFile } from "./secret-file.ts";

export const LOOPBACK = /^(127\.|localhost$|::1$|\[::1\]$)/;

/**
 * The cluster secret a node starts with, or undefined without --cluster-secret-file. Throws BAD_CONFIG naming the
 * file when it cannot be used. Without a secret, a node reachable beyond this machine says so at start.
 */
export function loadClusterAuth(secretFile: string | undefined, host: string, log: Logger): ClusterAuth | undefined {
  if (secretFile === undefined) {
    if (!LOOPBACK.test(host))
      log.warn(
        `Listening on ${host} without --cluster-secret-file: anyone who reaches this port can join a node to the cluster or pose as one (docs/security.md)`,
      );
    return undefined;
  }
  return { secret: readSecretFile(secretFile), refusals: new RefusalLog(log) };
}
