import { connect, type MqraftClient } from "../src/client/index.ts";
import { parseOptionalFlag } from "./cli-runner.ts";
import { TimeoutSchema, timeoutArg } from "./client-flags.ts";
import { clientArgs, credentialsFrom, serversFrom } from "./common-args.ts";

const DEFAULT_TIMEOUT_S = 10;

/** Flags of every admin command: where the cluster is, how long to wait, JSON or a table. */
export const adminArgs = {
  ...clientArgs,
  timeout: timeoutArg(DEFAULT_TIMEOUT_S, "for the leader to answer"),
} as const;

/** Runs `work` with a client of the cluster the flags name, and closes it whatever happens. */
export async function withClient<T>(
  args: { server?: string; timeout?: string } & Parameters<typeof credentialsFrom>[0],
  work: (client: MqraftClient) => Promise<T>,
): Promise<T> {
  const timeoutMs = parseOptionalFlag("timeout", TimeoutSchema, args.timeout) ?? DEFAULT_TIMEOUT_S * 1000;
  const client = await connect({ servers: serversFrom(args), timeoutMs, ...credentialsFrom(args) });
  try {
    return await work(client);
  } finally {
    await client.close();
  }
}

/** Prints lines (or one JSON line) in one write. */
export function print(lines: string[]): void {
  if (lines.length > 0) console.log(lines.join("\n"));
}
