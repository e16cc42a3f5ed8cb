import type { ArgsDef } from "citty";
import { type Address, AddressListSchema } from "../src/util/config-values.ts";
import { configureLogging, LOG_FORMATS, LOG_LEVELS, type LogFormat, type LogLevelName } from "../src/util/log.ts";
import { parseFlag, usageError } from "./cli-runner.ts";

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
