import * as v from "valibot";
import { ByteSizeSchema } from "../src/util/config-values.ts";
import { MAX_MAX_PENDING } from "../src/util/group-fields.ts";
import { SubscriptionNameSchema } from "../src/util/names.ts";
import type { ClientTls } from "../src/wire/index.ts";
import { parseFlag, parseOptionalFlag, usageError } from "./cli-runner.ts";
import { parseTopics, TimeoutSchema, timeoutArg } from "./client-flags.ts";
import { clientArgs, credentialsFrom, serversFrom } from "./common-args.ts";

/** Flags of `mqraft bench pub|sub|e2e`, validated into BenchSettings. */

const wholeIn = (min: number, max: number, what: string) =>
  v.pipe(
    v.string(),
    v.regex(/^\d+$/, `expected a whole number ${what}`),
    v.transform(Number),
    v.safeInteger("too large"),
    v.minValue(min, `expected at least ${min}`),
    v.maxValue(max, `expected at most ${max}`),
  );

/** The client's dedup window keeps 10,000 seqs; its in-flight limit is 5,000. */
const MAX_WINDOW = 5_000;
/** The timestamp a payload carries for publish→receive latency. */
export const STAMP_BYTES = 8;

export const BenchFlagSchemas = {
  msgs: wholeIn(1, 100_000_000, "of messages"),
  size: v.pipe(ByteSizeSchema, v.maxValue(8 * 1024 * 1024, "expected at most 8MiB")),
  clients: wholeIn(1, 1_000, "of clients"),
  subs: wholeIn(1, 1_000, "of subscribers"),
  window: wholeIn(1, MAX_WINDOW, "of publishes in flight"),
  rate: wholeIn(1, 10_000_000, "of messages per second"),
  /** As `sub --group --max-pending`. */
  maxPending: wholeIn(1, MAX_MAX_PENDING, "of messages a member holds"),
} as const;

export const benchArgs = {
  topic: { type: "positional", description: "Topic to use", required: true },
  ...clientArgs,
  msgs: { type: "string", description: "Messages in all (default 100000)", valueHint: "N" },
  size: {
    type: "string",
    description: "Payload size per message, e.g. 128, 1KiB, 1MB (default 128)",
    valueHint: "SIZE",
  },
  clients: {
    type: "string",
    description: "Publishing (or, for sub, subscribing) clients, each with its own connection (default 1)",
    valueHint: "C",
  },
  window: {
    type: "string",
    description: "Publishes in flight per client; 1 is synchronous (default 1000)",
    valueHint: "W",
  },
  rate: {
    type: "string",
    description: "Pace publishing at R messages per second in all (default: as fast as acks allow)",
    valueHint: "R",
  },
  subs: { type: "string", description: "e2e: subscribing clients (default 1)", valueHint: "S" },
  group: {
    type: "string",
    description:
      "e2e: the subscribers are members of this consumer group and ack each message (--subs, default --clients)",
    valueHint: "NAME",
  },
  "max-pending": {
    type: "string",
    description: "e2e with --group: messages each member holds unacknowledged at most (default 1000)",
    valueHint: "N",
  },
  from: { type: "string", description: "sub: earliest (default) or latest", valueHint: "earliest|latest" },
  timeout: timeoutArg(10, "for each publish to be acknowledged"),
} as const;

export interface BenchSettings {
  topic: string;
  servers: string[];
  token?: string;
  tls?: ClientTls;
  json: boolean;
  msgs: number;
  size: number;
  clients: number;
  subs: number;
  window: number;
  rate: number | undefined;
  from: "earliest" | "latest";
  timeoutMs: number;
  /** e2e: a consumer group the subscribers are members of (bench-group.ts). */
  group?: string | undefined;
  /** e2e with a group: each member's maxPending (the group's default when undefined). */
  maxPending?: number | undefined;
}

export type BenchRawArgs = { [K in keyof typeof benchArgs]?: K extends "json" ? boolean : string } & { _?: string[] };

/** Validates bench's arguments; a bad one is a BAD_USAGE error naming it. `mode` decides which minimums apply. */
export function parseBenchArgs(mode: "pub" | "sub" | "e2e", raw: BenchRawArgs): BenchSettings {
  const [topic] = parseTopics(raw.topic === undefined ? [] : [raw.topic]);
  const extra = (raw._ ?? []).slice(1);
  if (extra.length > 0) throw usageError(`unexpected argument ${JSON.stringify(extra[0])}`);
  const size = parseOptionalFlag("size", BenchFlagSchemas.size, raw.size) ?? 128;
  if (mode === "e2e" && size < STAMP_BYTES)
    throw usageError(`--size ${size}: e2e needs at least ${STAMP_BYTES} bytes for the send time`);
  const from = raw.from === undefined ? "earliest" : raw.from;
  if (from !== "earliest" && from !== "latest")
    throw usageError(`--from ${JSON.stringify(from)}: expected earliest or latest`);
  return {
    topic: topic as string,
    servers: serversFrom(raw),
    ...credentialsFrom(raw),
    json: raw.json === true,
    msgs: parseOptionalFlag("msgs", BenchFlagSchemas.msgs, raw.msgs) ?? 100_000,
    size,
    clients: parseOptionalFlag("clients", BenchFlagSchemas.clients, raw.clients) ?? 1,
    subs:
      parseOptionalFlag("subs", BenchFlagSchemas.subs, raw.subs) ??
      (raw.group === undefined ? 1 : (parseOptionalFlag("clients", BenchFlagSchemas.clients, raw.clients) ?? 1)),
    window: parseOptionalFlag("window", BenchFlagSchemas.window, raw.window) ?? 1_000,
    rate: raw.rate === undefined ? undefined : parseFlag("rate", BenchFlagSchemas.rate, raw.rate),
    from,
    timeoutMs: parseOptionalFlag("timeout", TimeoutSchema, raw.timeout) ?? 10_000,
    group: parseOptionalFlag("group", SubscriptionNameSchema, raw.group),
    maxPending: maxPendingFlag(raw),
  };
}

function maxPendingFlag(raw: BenchRawArgs): number | undefined {
  const maxPending = parseOptionalFlag("max-pending", BenchFlagSchemas.maxPending, raw["max-pending"]);
  if (maxPending !== undefined && raw.group === undefined) throw usageError("--max-pending needs --group");
  return maxPending;
}
