import { defineCommand } from "citty";
import { connect, type ReceivedMessage, type Subscription } from "../src/client/index.ts";
import { PositiveCountSchema } from "../src/util/config-values.ts";
import { SubscriptionNameSchema } from "../src/util/names.ts";
import type { SubscribeFrom } from "../src/wire/index.ts";
import { parseOptionalFlag } from "./cli-runner.ts";
import { FromSchema, parseTopics, SecondsSchema, timeoutArg } from "./client-flags.ts";
import { messageLine } from "./client-output.ts";
import { clientArgs, serversFrom } from "./common-args.ts";
import { LineOutput } from "./line-output.ts";

const DEFAULT_TIMEOUT_S = 10;
/** Printed output collected before it is written, at most; also how often a durable subscriber acks. */
const FLUSH_CHARS = 64 * 1024;

const args = {
  topic: { type: "positional", description: "Topic to read; more topics may follow", required: true },
  ...clientArgs,
  from: {
    type: "string",
    description: "Where to start: earliest, latest (default) or an offset",
    valueHint: "earliest|latest|N",
  },
  durable: {
    type: "string",
    description: "Name of a durable subscription: printed messages are acked, and a later sub resumes after them",
    valueHint: "NAME",
  },
  count: { type: "string", description: "Exit after N messages", valueHint: "N" },
  drain: {
    type: "boolean",
    description: "Exit once everything committed when the subscription began has been printed",
  },
  timeout: timeoutArg(DEFAULT_TIMEOUT_S, "for a broker to accept the subscription"),
} as const;

export interface SubSettings {
  topics: string[];
  from: SubscribeFrom;
  durable: string | undefined;
  count: number | undefined;
  drain: boolean;
  servers: string[];
  json: boolean;
  timeoutMs: number;
}

/** Validates sub's arguments; a bad one is a BAD_USAGE error naming it. */
export function parseSubArgs(raw: {
  topic?: string;
  _?: string[];
  server?: string;
  json?: boolean;
  from?: string;
  durable?: string;
  count?: string;
  drain?: boolean;
  timeout?: string;
}): SubSettings {
  return {
    topics: parseTopics(raw._ ?? (raw.topic === undefined ? [] : [raw.topic])),
    from: parseOptionalFlag("from", FromSchema, raw.from) ?? "latest",
    durable: parseOptionalFlag("durable", SubscriptionNameSchema, raw.durable),
    count: parseOptionalFlag("count", PositiveCountSchema, raw.count),
    drain: raw.drain === true,
    servers: serversFrom(raw),
    json: raw.json === true,
    timeoutMs: parseOptionalFlag("timeout", SecondsSchema, raw.timeout) ?? DEFAULT_TIMEOUT_S * 1000,
  };
}

export default defineCommand({
  meta: {
    name: "sub",
    description: "Print the messages of one or more topics as they are committed",
  },
  args,
  async run({ args: parsed }) {
    const settings = parseSubArgs(parsed);
    const client = await connect({ servers: settings.servers, timeoutMs: settings.timeoutMs });
    const out = new LineOutput();
    try {
      const subscription = await client.subscribe(settings.topics, {
        from: settings.from,
        drain: settings.drain,
        ...(settings.durable === undefined ? {} : { durable: settings.durable }),
      });
      // an interrupted subscriber has done nothing wrong: it ends the stream and exits 0
      const stop = (): void => void subscription.close();
      process.on("SIGINT", stop);
      process.on("SIGTERM", stop);
      try {
        await printMessages(subscription, out, settings);
      } finally {
        process.off("SIGINT", stop);
        process.off("SIGTERM", stop);
      }
    } finally {
      await out.flush();
      await client.close();
    }
  },
});

/**
 * Prints until the stream ends (drained, or closed by a signal) or `count` messages are out. Output is written
 * whenever the stream has nothing more at hand; a durable subscription acks only what has been written.
 */
async function printMessages(subscription: Subscription, out: LineOutput, settings: SubSettings): Promise<void> {
  const unacked = new Map<string, ReceivedMessage>();
  // the latest ack per topic covers the earlier ones: an ack moves the position forward only
  const acks = new Map<string, Promise<void>>();
  const write = async (): Promise<void> => {
    await out.flush();
    for (const [topic, message] of unacked) {
      const ack = subscription.ack(message);
      ack.catch(() => {});
      acks.set(topic, ack);
    }
    unacked.clear();
  };
  let printed = 0;
  for await (const message of subscription) {
    out.line(messageLine(message, settings.json));
    printed++;
    if (settings.durable !== undefined) unacked.set(message.topic, message);
    const enough = settings.count !== undefined && printed >= settings.count;
    if (enough || subscription.buffered === 0 || out.pending > FLUSH_CHARS) await write();
    if (enough) break;
  }
  await write();
  await Promise.all(acks.values());
}
