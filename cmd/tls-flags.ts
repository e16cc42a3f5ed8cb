import { readFileSync } from "node:fs";
import type { ArgsDef } from "citty";
import type { ClientTls } from "../src/wire/index.ts";
import { usageError } from "./cli-runner.ts";

/** TLS flags (docs/security.md): the same three names on servers (broker, join, manager) and clients. */
export const tlsServerArgs = {
  "tls-cert": {
    type: "string",
    description: "PEM certificate this node shows; with --tls-key, TLS only on its port",
    valueHint: "FILE",
  },
  "tls-key": { type: "string", description: "PEM private key of --tls-cert", valueHint: "FILE" },
  "tls-ca": {
    type: "string",
    description:
      "PEM CA: verify the nodes this one dials, and require clients and peers to show a certificate it signed",
    valueHint: "FILE",
  },
} as const satisfies ArgsDef;

export const tlsClientArgs = {
  "tls-ca": {
    type: "string",
    description: "PEM CA that signed the servers' certificates: connect with TLS (else $MQRAFT_TLS_CA)",
    valueHint: "FILE",
  },
  "tls-cert": {
    type: "string",
    description: "PEM client certificate, for servers that require one",
    valueHint: "FILE",
  },
  "tls-key": { type: "string", description: "PEM private key of --tls-cert", valueHint: "FILE" },
} as const satisfies ArgsDef;

/** The server flags as file names (read by src/auth/tls-files.ts, at start and on SIGHUP). */
export function tlsFilesFrom(args: { "tls-cert"?: string; "tls-key"?: string; "tls-ca"?: string }) {
  return {
    ...(args["tls-cert"] === undefined ? {} : { cert: args["tls-cert"] }),
    ...(args["tls-key"] === undefined ? {} : { key: args["tls-key"] }),
    ...(args["tls-ca"] === undefined ? {} : { ca: args["tls-ca"] }),
  };
}

function readPem(flag: string, path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch (e) {
    throw usageError(
      `--${flag} ${path}: ${(e as { code?: string }).code === "ENOENT" ? "no such file" : (e as Error).message}`,
    );
  }
}

/**
 * A client's TLS, as `{ tls }` to spread into connect's options, or `{}` for clear text: --tls-ca (else
 * MQRAFT_TLS_CA) turns it on; --tls-cert and --tls-key add a client certificate for servers that require one.
 */
export function clientTlsFrom(args: { "tls-ca"?: string; "tls-cert"?: string; "tls-key"?: string }): {
  tls?: ClientTls;
} {
  const caFile = args["tls-ca"] ?? (process.env.MQRAFT_TLS_CA || undefined);
  if ((args["tls-cert"] === undefined) !== (args["tls-key"] === undefined))
    throw usageError("--tls-cert and --tls-key go together: give both, or neither");
  if (caFile === undefined && args["tls-cert"] === undefined) return {};
  const tls: ClientTls = {};
  if (caFile !== undefined)
    tls.ca = readPem(args["tls-ca"] === undefined ? "tls-ca (from MQRAFT_TLS_CA)" : "tls-ca", caFile);
  if (args["tls-cert"] !== undefined && args["tls-key"] !== undefined) {
    tls.cert = readPem("tls-cert", args["tls-cert"]);
    tls.key = readPem("tls-key", args["tls-key"]);
  }
  return { tls };
}
