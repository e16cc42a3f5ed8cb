import { resolve } from "node:path";
import type { ArgsDef } from "citty";
import { readAdminTokenFile } from "../src/auth/client-auth.ts";
import { loadTls } from "../src/auth/tls-files.ts";
import type { ClientTls } from "../src/wire/index.ts";
import { usageError } from "./cli-runner.ts";
import { tlsServerArgs } from "./tls-flags.ts";

/** `mqraft up`'s security flags (docs/security.md): TLS for every node, and the first admin's token for every broker. */
export const upSecurityArgs = {
  ...tlsServerArgs,
  "admin-token-file": {
    type: "string",
    description:
      "File holding a token (mode 0600, 16+ bytes) every broker accepts as an admin's; clients then need tokens",
    valueHint: "FILE",
  },
} as const satisfies ArgsDef;

export interface UpSecurity {
  /** Flags for the manager and every broker. */
  nodeFlags: string[];
  /** Flags for the brokers only. */
  brokerFlags: string[];
  /** How `up` itself asks the cluster for its leader. */
  clientTls: ClientTls | undefined;
  /** What the printed client commands need, as one string starting with a space (or empty). */
  clientHint: string;
  https: boolean;
}

type Args = { "tls-cert"?: string; "tls-key"?: string; "tls-ca"?: string; "admin-token-file"?: string };

/**
 * Checks the files once here (a usage error names the flag), so a bad file stops `up` at once instead of every
 * child one after the other; the children get absolute paths, and so do the commands printed for other terminals.
 */
export function upSecurity(args: Args): UpSecurity {
  const files = {
    ...(args["tls-cert"] === undefined ? {} : { cert: resolve(args["tls-cert"]) }),
    ...(args["tls-key"] === undefined ? {} : { key: resolve(args["tls-key"]) }),
    ...(args["tls-ca"] === undefined ? {} : { ca: resolve(args["tls-ca"]) }),
  };
  const adminToken = args["admin-token-file"] === undefined ? undefined : resolve(args["admin-token-file"]);
  if (files.ca !== undefined && files.cert === undefined)
    throw usageError("--tls-ca needs --tls-cert and --tls-key: mqraft up puts every node's port on TLS with them");
  let tls: ReturnType<typeof loadTls>;
  try {
    tls = loadTls(files);
    if (adminToken !== undefined) readAdminTokenFile(adminToken);
  } catch (e) {
    throw usageError((e as Error).message);
  }
  const nodeFlags = [
    ...(files.cert === undefined ? [] : ["--tls-cert", files.cert]),
    ...(files.key === undefined ? [] : ["--tls-key", files.key]),
    ...(files.ca === undefined ? [] : ["--tls-ca", files.ca]),
  ];
  // with a CA the nodes require client certificates: the node's own (valid for client use, docs/security.md) serves
  const clientHint = [
    ...(files.ca === undefined ? [] : nodeFlags.map((f) => (f.startsWith("--") ? f : quote(f)))),
    ...(adminToken === undefined ? [] : ["--token-file", quote(adminToken)]),
  ].join(" ");
  return {
    nodeFlags,
    brokerFlags: adminToken === undefined ? [] : ["--admin-token-file", adminToken],
    clientTls: tls.client,
    clientHint: clientHint === "" ? "" : ` ${clientHint}`,
    https: tls.server !== undefined,
  };
}

const quote = (path: string): string => (/^[\w./:@-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`);
