import { defineCommand } from "citty";
import { connect } from "../src/client/index.ts";
import { parseOptionalFlag } from "./cli-runner.ts";
import { SecondsSchema, timeoutArg } from "./client-flags.ts";
import { statusJson, statusTable } from "./client-output.ts";
import { clientArgs, serversFrom } from "./common-args.ts";
import { LineOutput } from "./line-output.ts";

const DEFAULT_TIMEOUT_S = 5;

const args = {
  ...clientArgs,
  timeout: timeoutArg(DEFAULT_TIMEOUT_S, "for a broker to answer"),
} as const;

export interface StatusSettings {
  servers: string[];
  json: boolean;
  timeoutMs: number;
}

/** Validates status's arguments; a bad one is a BAD_USAGE error naming it. */
export function parseStatusArgs(raw: { server?: string; json?: boolean; timeout?: string }): StatusSettings {
  return {
    servers: serversFrom(raw),
    json: raw.json === true,
    timeoutMs: parseOptionalFlag("timeout", SecondsSchema, raw.timeout) ?? DEFAULT_TIMEOUT_S * 1000,
  };
}

export default defineCommand({
  meta: {
    name: "status",
    description: "Show the cluster's nodes, their roles and how far each has applied the log",
  },
  args,
  async run({ args: parsed }) {
    const settings = parseStatusArgs(parsed);
    const client = await connect({ servers: settings.servers, timeoutMs: settings.timeoutMs });
    const out = new LineOutput();
    try {
      const status = await client.status();
      for (const line of settings.json ? [statusJson(status)] : statusTable(status)) out.line(line);
    } finally {
      await out.flush();
      await client.close();
    }
  },
});
