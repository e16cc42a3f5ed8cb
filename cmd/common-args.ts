import { readFileSync } from "node:fs";
import type { ArgsDef } from "citty";
import { type Address, AddressListSchema } from "../src/util/config-values.ts";
import { configureLogging, LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevelName } from "../src/util/log.ts";
import type { ClientTls } from "../src/wire/index.ts";
import { parseFlag, usageError } from "./cli-runner.ts";
import { clientTlsFrom, tlsClientArgs } from "./tls-flags.ts";

/** Flags every long-running process takes. */
export const logArgs = {
  "log-level": { type: "string", description: `Log level: ${Object.keys(LOG_LEVELS).join(", ")}`, default: "info" },
  "log-format": { type: "string", description: "Log format: text or json", default: "text" },
} as const satisfies ArgsDef;

/** Flags every client command takes. */
export const clientArgs = {
  server: {
    type: "string",
    description: "Brokers or managers to contact, host:port[,host:port...] (else $MQRAFT_SERVER, else 127.0.0.1:8888)",
  },
  json: { type: "boolean", description: "Print one JSON object per line" },
  token: {
    type: "string",
    description: "The user's token, for a cluster with auth on (else --token-file, else $MQRAFT_TOKEN)",
    valueHint: "TOKEN",
  },
  "token-file": { type: "string", description: "A file holding the user's token", valueHint: "FILE" },
  ...tlsClientArgs,
} as const satisfies ArgsDef;

export function setUpLogging(args: { "log-level"?: string; "log-format"?: string }): void {
  const level = args["log-level"] ?? "info";
  const format = args["log-format"] ?? "text";
  if (!(level in LOG_LEVELS))
    throw usageError(`--log-level "${level}": expected one of ${Object.keys(LOG_LEVELS).join(", ")}`);
  if (!(LOG_FORMATS as readonly string[]).includes(format))
    throw usageError(`--log-format "${format}": expected text or json`);
  configureLogging({ level: level as LogLevelName, format: format as LogFormat });
}

/** --server, else MQRAFT_SERVER, else the default manager address. */
export function serversFrom(args: { server?: string }): Address[] {
  if (args.server !== undefined) return parseFlag("server", AddressListSchema, args.server);
  const env = process.env.MQRAFT_SERVER;
  if (env !== undefined && env !== "") return parseFlag("server (from MQRAFT_SERVER)", AddressListSchema, env);
  return ["127.0.0.1:8888"];
}

/** A token read from a file is at most this long (a token is about 120 characters). */
const MAX_TOKEN_FILE_BYTES = 4096;

/**
 * --token, else --token-file, else MQRAFT_TOKEN: the client's token, as `{ token }` to spread into connect's options,
 * or `{}` without one (a cluster without auth needs none).
 */
export function tokenFrom(args: { token?: string; "token-file"?: string }): { token?: string } {
  if (args.token !== undefined && args["token-file"] !== undefined)
    throw usageError("give --token or --token-file, not both");
  if (args.token !== undefined) {
    if (args.token === "") throw usageError("--token needs a value");
    return { token: args.token };
  }
  const file = args["token-file"];
  if (file !== undefined) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      throw usageError(
        `--token-file ${file}: ${(e as { code?: string }).code === "ENOENT" ? "no such file" : (e as Error).message}`,
      );
    }
    const token = text.replace(/[\r\n]+$/, "");
    if (token === "" || token.length > MAX_TOKEN_FILE_BYTES)
      throw usageError(`--token-file ${file}: expected one token of 1 to ${MAX_TOKEN_FILE_BYTES} characters`);
    return { token };
  }
  const env = process.env.MQRAFT_TOKEN;
  return env === undefined || env === "" ? {} : { token: env };
}

/** Who the client is and how it connects: the token flags and the TLS flags (cmd/tls-flags.ts), for connect's options. */
export function credentialsFrom(args: {
  token?: string;
  "token-file"?: string;
  "tls-ca"?: string;
  "tls-cert"?: string;
  "tls-key"?: string;
}): { token?: string; tls?: ClientTls } {
  return { ...tokenFrom(args), ...clientTlsFrom(args) };
}

/** The token and TLS of parsed settings as connect's options (`{}` without either). */
export function tokenOption(settings: { token?: string; tls?: ClientTls }): { token?: string; tls?: ClientTls } {
  return {
    ...(settings.token === undefined ? {} : { token: settings.token }),
    ...(settings.tls === undefined ? {} : { tls: settings.tls }),
  };
}
