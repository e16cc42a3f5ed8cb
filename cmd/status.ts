import { defineCommand } from "citty";
import { type ClusterStatus, connect } from "../src/client/index.ts";
import type { ClientTls } from "../src/wire/index.ts";
import { ExitError, parseOptionalFlag } from "./cli-runner.ts";
import { TimeoutSchema, timeoutArg } from "./client-flags.ts";
import { statusJson, statusTable } from "./client-output.ts";
import { clientArgs, credentialsFrom, serversFrom, tokenOption } from "./common-args.ts";
import { LineOutput } from "./line-output.ts";

const DEFAULT_TIMEOUT_S = 5;

/** status's exit codes besides 0: a script can tell "no leader" from "degraded" without parsing the table. */
export const STATUS_NO_LEADER = 1;
export const STATUS_VOTER_UNREACHABLE = 3;

const args = {
  ...clientArgs,
  timeout: timeoutArg(DEFAULT_TIMEOUT_S, "for a broker to answer"),
} as const;

export interface StatusSettings {
  servers: string[];
  token?: string;
  tls?: ClientTls;
  json: boolean;
  timeoutMs: number;
}

/** Validates status's arguments; a bad one is a BAD_USAGE error naming it. */
export function parseStatusArgs(raw: {
  server?: string;
  json?: boolean;
  timeout?: string;
  token?: string;
  "token-file"?: string;
  "tls-ca"?: string;
  "tls-cert"?: string;
  "tls-key"?: string;
}): StatusSettings {
  return {
    servers: serversFrom(raw),
    ...credentialsFrom(raw),
    json: raw.json === true,
    timeoutMs: parseOptionalFlag("timeout", TimeoutSchema, raw.timeout) ?? DEFAULT_TIMEOUT_S * 1000,
  };
}

/** 0 when a leader is in contact with every voter, 3 when some voter is unreachable, 1 when there is no leader. */
export function statusExitCode(status: ClusterStatus): number {
  if (status.leader === null) return STATUS_NO_LEADER;
  if (status.nodes.some((n) => n.voter && !n.reachable)) return STATUS_VOTER_UNREACHABLE;
  return 0;
}

export default defineCommand({
  meta: {
    name: "status",
    description:
      "Show the cluster's nodes: role, term, how far each has applied the log, version, uptime, disk; exit 1 without a leader, 3 with a voter unreachable",
  },
  args,
  async run({ args: parsed }) {
    const settings = parseStatusArgs(parsed);
    const client = await connect({
      servers: settings.servers,
      timeoutMs: settings.timeoutMs,
      ...tokenOption(settings),
    });
    const out = new LineOutput();
    let code = 0;
    try {
      const status = await client.status();
      for (const line of settings.json ? [statusJson(status)] : statusTable(status)) out.line(line);
      code = statusExitCode(status);
    } finally {
      await out.flush();
      await client.close();
    }
    if (code !== 0) throw new ExitError(code);
  },
});
