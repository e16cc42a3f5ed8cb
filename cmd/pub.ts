import { defineCommand } from "citty";
import { connect } from "../src/client/index.ts";
import { parseOptionalFlag, usageError } from "./cli-runner.ts";
import { parseTopics, SecondsSchema, timeoutArg } from "./client-flags.ts";
import { publishedLine } from "./client-output.ts";
import { clientArgs, serversFrom } from "./common-args.ts";
import { LineOutput } from "./line-output.ts";
import { publishLines } from "./publish-lines.ts";
import { byteLines } from "./stdin-lines.ts";

const DEFAULT_TIMEOUT_S = 10;

const args = {
  topic: { type: "positional", description: "Topic to publish to", required: true },
  message: {
    type: "positional",
    description: "The message; without it, each line of stdin is one message",
    required: false,
  },
  ...clientArgs,
  timeout: timeoutArg(DEFAULT_TIMEOUT_S, "for each message to be acknowledged"),
} as const;

export interface PubSettings {
  topic: string;
  /** Undefined: read messages from stdin, one per line. */
  message: string | undefined;
  servers: string[];
  json: boolean;
  timeoutMs: number;
}

/** Validates pub's arguments; a bad one is a BAD_USAGE error naming it. */
export function parsePubArgs(raw: {
  topic?: string;
  message?: string;
  server?: string;
  json?: boolean;
  timeout?: string;
  _?: string[];
}): PubSettings {
  const [topic] = parseTopics(raw.topic === undefined ? [] : [raw.topic]);
  const extra = (raw._ ?? []).slice(2);
  if (extra.length > 0)
    throw usageError(`unexpected argument ${JSON.stringify(extra[0])} (quote a message that has spaces)`);
  return {
    topic: topic as string,
    message: raw.message,
    servers: serversFrom(raw),
    json: raw.json === true,
    timeoutMs: parseOptionalFlag("timeout", SecondsSchema, raw.timeout) ?? DEFAULT_TIMEOUT_S * 1000,
  };
}

export default defineCommand({
  meta: {
    name: "pub",
    description: "Publish a message, or each line of stdin, and print each offset as it is acknowledged",
  },
  args,
  async run({ args: parsed }) {
    const settings = parsePubArgs(parsed);
    const client = await connect({ servers: settings.servers, timeoutMs: settings.timeoutMs });
    const out = new LineOutput();
    try {
      if (settings.message !== undefined) {
        out.line(publishedLine(await client.publish(settings.topic, settings.message), settings.json));
        return;
      }
      await publishLines(
        byteLines(Bun.stdin.stream()),
        (data) => client.publish(settings.topic, data),
        async (result) => {
          out.line(publishedLine(result, settings.json));
          if (out.pending > 64 * 1024) await out.flush();
          else out.flushSoon();
        },
      );
    } finally {
      await out.flush();
      await client.close();
    }
  },
});
