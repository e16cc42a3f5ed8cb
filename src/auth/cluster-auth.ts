import { MqraftError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import type { ClusterAuth } from "./peer-handshake.ts";
import { RefusalLog } from "./refusal-log.ts";
import { readSecretFile } from "./secret-file.ts";

export const LOOPBACK = /^(127\.|localhost$|::1$|\[::1\]$)/;

/**
 * The cluster secret a node starts with, or undefined without --cluster-secret-file, and the previous one it still
 * accepts during a rotation (--previous-cluster-secret-file). Throws BAD_CONFIG naming the file when one cannot be
 * used. Without a secret, a node reachable beyond this machine says so at start.
 */
export function loadClusterAuth(
  secretFile: string | undefined,
  host: string,
  log: Logger,
  previousSecretFile?: string,
): ClusterAuth | undefined {
  if (secretFile === undefined) {
    if (previousSecretFile !== undefined)
      throw new MqraftError(
        "BAD_CONFIG",
        "--previous-cluster-secret-file needs --cluster-secret-file: the previous secret is accepted beside a current one",
      );
    if (!LOOPBACK.test(host))
      log.warn(
        `Listening on ${host} without --cluster-secret-file: anyone who reaches this port can join a node to the cluster or pose as one (docs/security.md)`,
      );
    return undefined;
  }
  const secret = readSecretFile(secretFile);
  if (previousSecretFile === undefined) return { secret, refusals: new RefusalLog(log) };
  return {
    secret,
    previous: readSecretFile(previousSecretFile, "previous cluster secret file"),
    refusals: new RefusalLog(log),
  };
}
