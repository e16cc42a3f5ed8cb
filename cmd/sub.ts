import { defineCommand } from "citty";
import { connect, type ReceivedMessage, type Subscription } from "../src/client/index.ts";
import type { ReconnectEvent } from "../src/client/subscription.ts";
import { PositiveCountSchema } from "../src/util/config-values.ts";
import { SubscriptionNameSchema } from "../src/util/names.ts";
import type { ClientTls, SubscribeStart } from "../src/wire/index.ts";
import { parseOptionalFlag, usageError } from "./cli-runner.ts";
import { parseTopics, SinceSchema, StartFlagSchema, TimeoutSchema, timeoutArg } from "./client-flags.ts";
import { messageLine } from "./client-output.ts";
import { clientArgs, credentialsFrom, serversFrom, tokenOption } from "./common-args.ts";
import { LineOutput } from "./line-output.ts";
import { stopOnInterruptOrClosedOutput } from "./stdout-watch.ts";
import { type GroupSettings, groupArgs, parseGroupArgs, type RawGroupArgs, runGroup } from "./sub-group.ts";

const DEFAULT_TIMEOUT_S = 10;
const DEFAULT_RECONNECT_S = 60;
/** Printed output collected before it is written, at most; also how often a durable subscriber acks. */
const FLUSH_CHARS = 64 * 1024;

const args = {
  topic: {
    type: "positional",
    description: "Topics or patterns to read (one or more; `orders.*` one token, `orders.>` the rest)",
    required: true,
    valueHint: "TOPIC...",
  },
  ...clientArgs,
  from: {
    type: "string",
    description: "Where to start: earliest, latest (default), an offset, or a time (RFC 3339: 2026-12-06T10:00:00Z)",
    valueHint: "earliest|latest|N|TIME",
  },
  since: {
    type: "string",
    description: "Start at the first message stored in the last DURATION (10m, 2h, 7d); instead of --from",
    valueHint: "DURATION",
  },
  wait: {
    type: "boolean",
    description: "With --from N beyond the last offset: wait for offset N instead of exiting 2",
  },
  durable: {
    type: "string",
    description: "Name of a durable subscription: printed messages are acked, and a later sub resumes after them",
    valueHint: "NAME",
  },
  count: { type: "string", description: "Exit after N messages", valueHint: "N" },
  headers: { type: "boolean", description: "Print each message's headers under it (--json always has them)" },
  drain: {
    type: "boolean",
    description: "Exit once everything committed when the subscription began has been printed",
  },
  timeout: timeoutArg(DEFAULT_TIMEOUT_S, "for a broker to accept the subscription"),
  "reconnect-timeout": {
    type: "string",
    description: `How long to look for another broker after losing one before exiting 1 (default ${DEFAULT_RECONNECT_S}s)`,
    valueHint: "DURATION",
  },
  ...groupArgs,
} as const;

export interface SubSettings {
  topics: string[];
  from: SubscribeStart;
  wait: boolean;
  durable: string | undefined;
  count: number | undefined;
  drain: boolean;
  headers: boolean;
  servers: string[];
  token?: string;
  tls?: ClientTls;
  json: boolean;
  timeoutMs: number;
  reconnectTimeoutMs: number;
  /** With --group: a member of a consumer group instead of a subscriber (sub-group.ts). */
  group?: GroupSettings | undefined;
}

/** Validates sub's arguments; a bad one is a BAD_USAGE error naming it. */
export function parseSubArgs(
  raw: {
    topic?: string;
    _?: string[];
    server?: string;
    json?: boolean;
    from?: string;
    since?: string;
    wait?: boolean;
    durable?: string;
    count?: string;
    drain?: boolean;
    headers?: boolean;
    timeout?: string;
    "reconnect-timeout"?: string;
    token?: string;
    "token-file"?: string;
    "tls-ca"?: string;
    "tls-cert"?: string;
    "tls-key"?: string;
  } & RawGroupArgs,
): SubSettings {
  const topics = parseTopics(raw._ ?? (raw.topic === undefined ? [] : [raw.topic]), true);
  return {
    topics,
    from: parseStart(raw.from, raw.since),
    wait: raw.wait === true,
    durable: parseOptionalFlag("durable", SubscriptionNameSchema, raw.durable),
    count: parseOptionalFlag("count", PositiveCountSchema, raw.count),
    drain: raw.drain === true,
    headers: raw.headers === true,
    servers: serversFrom(raw),
    ...credentialsFrom(raw),
    json: raw.json === true,
    timeoutMs: parseOptionalFlag("timeout", TimeoutSchema, raw.timeout) ?? DEFAULT_TIMEOUT_S * 1000,
    reconnectTimeoutMs:
      parseOptionalFlag("reconnect-timeout", TimeoutSchema, raw["reconnect-timeout"]) ?? DEFAULT_RECONNECT_S * 1000,
    group: parseGroupArgs(raw, topics),
  };
}

/** --from or --since (one of them); --since counts back from this machine's clock. */
function parseStart(from: string | undefined, since: string | undefined): SubscribeStart {
  if (from !== undefined && since !== undefined) throw usageError("give --from or --since, not both");
  const back = parseOptionalFlag("since", SinceSchema, since);
  if (back !== undefined) return { time: Math.max(0, Date.now() - back) };
  return parseOptionalFlag("from", StartFlagSchema, from) ?? "latest";
}

export default defineCommand({
  meta: {
    name: "sub",
    description: "Print the messages of one or more topics as they are committed",
  },
  args,
  async run({ args: parsed }) {
    const settings = parseSubArgs(parsed);
    const client = await connect({
      servers: settings.servers,
      timeoutMs: settings.timeoutMs,
      resumeTimeoutMs: settings.reconnectTimeoutMs,
      ...tokenOption(settings),
    });
    const out = new LineOutput();
    try {
      if (settings.group !== undefined) {
        const { json, count } = settings;
        return await runGroup(client, settings.topics[0] as string, settings.group, out, { json, count });
      }
      const subscription = await client.subscribe(settings.topics, {
        from: settings.from,
        drain: settings.drain,
        onReconnect: reportReconnect,
        // a gap (messages retention removed before they were read) is reported, and the stream goes on; the one
        // at a numeric --from is checkFrom's to report
        onGap: (g) => {
          if (g.from === settings.from) return;
          console.error(
            `mqraft: offsets ${g.from} to ${g.to - 1} of ${g.topic} skipped: ${g.reason === "retention" ? "removed by retention before they were read" : "unreadable on the broker"}`,
          );
        },
        ...(settings.durable === undefined ? {} : { durable: settings.durable }),
      });
      // an interrupted subscriber, or one whose reader left (`| head -1`), has done nothing wrong: it exits 0
      const stop = (): void => void subscription.close();
      const unwatch = stopOnInterruptOrClosedOutput(stop, out);
      try {
        await checkFrom(subscription, settings);
        await printMessages(subscription, out, settings);
      } finally {
        unwatch();
      }
    } finally {
      await out.flush();
      await client.close();
    }
  },
});

function reportReconnect(event: ReconnectEvent): void {
  if (event.type === "lost")
    console.error(
      `mqraft: lost ${event.address}; looking for another broker for up to ${event.timeoutMs / 1000} s (--reconnect-timeout)`,
    );
  else console.error(`mqraft: resumed on ${event.address}`);
}

/**
 * An offset outside what is stored is said on stderr: below the first stored offset (retention removed it) the
 * stream starts later; beyond the end it would wait in silence for messages nobody may ever publish, so that is a
 * usage error unless --wait asks for exactly that.
 */
async function checkFrom(subscription: Subscription, settings: SubSettings): Promise<void> {
  const from = settings.from;
  if (typeof from !== "number") return;
  // the topics named and those the patterns matched when it began
  for (const topic of Object.keys(subscription.ends)) {
    const start = subscription.positions[topic] ?? from;
    const end = subscription.ends[topic] ?? 0;
    if (start > from) console.error(`mqraft: --from ${from}: the first stored offset of ${topic} is ${start}`);
    if (from > end && !settings.wait) {
      await subscription.close();
      throw usageError(
        `--from ${from}: ${topic} ends at offset ${end} (the next message gets ${end}); add --wait to wait for offset ${from}`,
      );
    }
  }
}

/**
 * Prints until the stream ends (drained, closed by a signal or by the reader leaving) or `count` messages are out.
 * Output is written whenever the stream has nothing more at hand; a durable subscription acks exactly what was
 * written, so a reader that left does not cost the messages it never got.
 */
async function printMessages(subscription: Subscription, out: LineOutput, settings: SubSettings): Promise<void> {
  const unacked = new Map<string, ReceivedMessage>();
  // the latest ack per topic covers the earlier ones: an ack moves the position forward only
  const acks = new Map<string, Promise<void>>();
  const write = async (): Promise<boolean> => {
    const written = await out.flush();
    if (written) {
      for (const [topic, message] of unacked) {
        const ack = subscription.ack(message);
        ack.catch(() => {});
        acks.set(topic, ack);
      }
    }
    unacked.clear();
    return written;
  };
  let printed = 0;
  for await (const message of subscription) {
    out.line(messageLine(message, settings.json, settings.headers));
    printed++;
    if (settings.durable !== undefined) unacked.set(message.topic, message);
    const enough = settings.count !== undefined && printed >= settings.count;
    if (enough || subscription.buffered === 0 || out.pending > FLUSH_CHARS) {
      if (!(await write())) break;
    }
    if (enough) break;
  }
  await write();
  await Promise.all(acks.values());
}
