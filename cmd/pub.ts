import { defineCommand } from "citty";
import * as v from "valibot";
import { connect } from "../src/client/index.ts";
import { type HeaderPairs, headersProblem } from "../src/util/message-headers.ts";
import type { ClientTls } from "../src/wire/index.ts";
import { parseOptionalFlag, usageError } from "./cli-runner.ts";
import { parseTopics, SinceSchema, TimeoutSchema, timeoutArg } from "./client-flags.ts";
import { asText, publishedLine } from "./client-output.ts";
import { clientArgs, credentialsFrom, serversFrom, tokenOption } from "./common-args.ts";
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
  file: { type: "string", description: "Publish this file's bytes as one message", valueHint: "FILE" },
  raw: { type: "boolean", description: "Publish all of stdin as one message, bytes unchanged" },
  ttl: {
    type: "string",
    description: "How long each message lives (30s, 10m, 1h, 7d): never delivered after that, then removed",
    valueHint: "DURATION",
  },
  header: {
    type: "string",
    alias: "H",
    description: "A header stored with each message (repeatable; keys are lowercased)",
    valueHint: "KEY=VALUE",
  },
  timeout: timeoutArg(DEFAULT_TIMEOUT_S, "for each message to be acknowledged"),
} as const;

export interface PubSettings {
  topic: string;
  /** Undefined: read messages from stdin, one per line (or all of it with `raw`). */
  message: string | undefined;
  file: string | undefined;
  raw: boolean;
  servers: string[];
  token?: string;
  tls?: ClientTls;
  json: boolean;
  timeoutMs: number;
  /** From every -H/--header, in order; undefined for none. */
  headers: HeaderPairs | undefined;
  ttlMs: number | undefined;
}

/** Validates pub's arguments; a bad one is a BAD_USAGE error naming it. */
export function parsePubArgs(raw: {
  topic?: string;
  message?: string;
  server?: string;
  json?: boolean;
  timeout?: string;
  file?: string;
  raw?: boolean;
  token?: string;
  "token-file"?: string;
  ttl?: string;
  "tls-ca"?: string;
  "tls-cert"?: string;
  "tls-key"?: string;
  _?: string[];
  /** Every -H/--header value in order (citty keeps only the last one in `header`). */
  headers?: string[];
}): PubSettings {
  const [topic] = parseTopics(raw.topic === undefined ? [] : [raw.topic]);
  const extra = (raw._ ?? []).slice(2);
  if (extra.length > 0)
    throw usageError(`unexpected argument ${JSON.stringify(extra[0])} (quote a message that has spaces)`);
  const sources = [raw.message !== undefined, raw.file !== undefined, raw.raw === true].filter(Boolean).length;
  if (sources > 1) throw usageError("give one of: a message, --file FILE, --raw (stdin as one message)");
  if (raw.file === "") throw usageError("--file needs a file name");
  return {
    topic: topic as string,
    message: raw.message,
    file: raw.file,
    raw: raw.raw === true,
    servers: serversFrom(raw),
    ...credentialsFrom(raw),
    json: raw.json === true,
    timeoutMs: parseOptionalFlag("timeout", TimeoutSchema, raw.timeout) ?? DEFAULT_TIMEOUT_S * 1000,
    headers: parseHeaders(raw.headers ?? []),
    ttlMs: parseOptionalFlag("ttl", TtlSchema, raw.ttl),
  };
}

const TtlSchema = v.pipe(SinceSchema, v.minValue(1, "expected more than 0"));

/** `key=value` strings as header pairs, keys lowercased; a bad one is a usage error naming it. */
function parseHeaders(raw: readonly string[]): HeaderPairs | undefined {
  if (raw.length === 0) return undefined;
  const pairs: HeaderPairs = raw.map((h) => {
    const at = h.indexOf("=");
    if (at < 1) throw usageError(`--header ${JSON.stringify(h)}: expected KEY=VALUE`);
    return [h.slice(0, at).toLowerCase(), h.slice(at + 1)];
  });
  const problem = headersProblem(pairs);
  if (problem !== undefined) throw usageError(`--header: ${problem}`);
  return pairs;
}

/** The values of every -H/--header in `argv` (`-H k=v`, `--header k=v`, `--header=k=v`), in order. */
export function headerFlags(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === "--") break;
    if (arg === "-H" || arg === "--header") {
      const value = argv[i + 1];
      if (value === undefined) throw usageError(`${arg} needs KEY=VALUE`);
      out.push(value);
      i++;
    } else if (arg.startsWith("--header=")) out.push(arg.slice("--header=".length));
  }
  return out;
}

export default defineCommand({
  meta: {
    name: "pub",
    description: "Publish a message, or each line of stdin, and print each offset as it is acknowledged",
  },
  args,
  async run({ args: parsed, rawArgs }) {
    const settings = parsePubArgs({ ...parsed, headers: headerFlags(rawArgs) });
    const options = {
      ...(settings.headers === undefined ? {} : { headers: settings.headers }),
      ...(settings.ttlMs === undefined ? {} : { ttlMs: settings.ttlMs }),
    };
    const client = await connect({
      servers: settings.servers,
      timeoutMs: settings.timeoutMs,
      ...tokenOption(settings),
    });
    const out = new LineOutput();
    try {
      const whole = await wholeMessage(settings);
      if (whole !== undefined) {
        out.line(publishedLine(await client.publish(settings.topic, whole, options), settings.json));
        return;
      }
      await publishLines(
        textLines(Bun.stdin.stream()),
        (data) => client.publish(settings.topic, data, options),
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

/** The one message to publish, if it is not stdin's lines: the argument, a file, or all of stdin (--raw). */
async function wholeMessage(settings: PubSettings): Promise<Uint8Array | string | undefined> {
  if (settings.message !== undefined) return settings.message;
  if (settings.file !== undefined) {
    const file = Bun.file(settings.file);
    if (!(await file.exists())) throw usageError(`--file ${settings.file}: no such file`);
    return new Uint8Array(await file.arrayBuffer());
  }
  if (settings.raw) return new Uint8Array(await Bun.stdin.arrayBuffer());
  return undefined;
}

/**
 * Stdin's lines as messages, a line's "\r\n" ending counting as "\n" (input from Windows tools). Input that is not
 * text is still split at each newline byte, but said once on stderr: --raw or --file publish it whole.
 */
async function* textLines(stream: AsyncIterable<Uint8Array>): AsyncGenerator<Uint8Array> {
  let warned = false;
  let n = 0;
  for await (let line of byteLines(stream)) {
    n++;
    if (line.length > 0 && line[line.length - 1] === 13) line = line.subarray(0, line.length - 1);
    if (!warned && (line.includes(0) || asText(line) === undefined)) {
      warned = true;
      console.error(
        `mqraft: stdin line ${n} is not text; each line is published as its own message (--raw or --file publish the input whole)`,
      );
    }
    yield line;
  }
}
