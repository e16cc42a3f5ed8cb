import type { ConsumedMessage, GroupStream, MqraftClient } from "../src/client/index.ts";
import { PositiveCountSchema } from "../src/util/config-values.ts";
import { MAX_MAX_DELIVER, MAX_MAX_PENDING } from "../src/util/group-fields.ts";
import { SubscriptionNameSchema, TopicSchema } from "../src/util/names.ts";
import { parseOptionalFlag, usageError } from "./cli-runner.ts";
import { TimeoutSchema } from "./client-flags.ts";
import { messageLine } from "./client-output.ts";
import type { LineOutput } from "./line-output.ts";
import { stopOnInterruptOrClosedOutput } from "./stdout-watch.ts";

/** `sub --group`'s flags (docs/cli.md, docs/messaging.md "Work queues"). */
export const groupArgs = {
  group: {
    type: "string",
    description: "Join this consumer group (a work queue): each message goes to one member, which acks it",
    valueHint: "NAME",
  },
  exec: {
    type: "string",
    description: "With --group: run CMD (by sh -c) per message, data on stdin; exit 0 acks it, anything else naks it",
    valueHint: "CMD",
  },
  member: {
    type: "string",
    description: "With --group: this member's name, to keep what it holds across restarts (default: random)",
    valueHint: "NAME",
  },
  "ack-wait": {
    type: "string",
    description:
      "With --group, for a new group: how long a member may hold a message before it is redelivered (default 30s)",
    valueHint: "DURATION",
  },
  "max-deliver": {
    type: "string",
    description: "With --group, for a new group: deliveries at most, then the dead-letter topic (default 5)",
    valueHint: "N",
  },
  "dead-letter": {
    type: "string",
    description:
      "With --group, for a new group: the dead-letter topic (default <topic>.dlq, <group>.dlq for a pattern)",
    valueHint: "TOPIC",
  },
  "max-pending": {
    type: "string",
    description: "With --group, for a new group: messages one member holds unacknowledged at most (default 1000)",
    valueHint: "N",
  },
} as const;

export interface GroupSettings {
  group: string;
  exec: string | undefined;
  member: string | undefined;
  ackWaitMs: number | undefined;
  maxDeliver: number | undefined;
  deadLetter: string | undefined;
  maxPending: number | undefined;
}

/** The group flags as citty hands them over (sub's own arguments include them). */
export type RawGroupArgs = {
  group?: string;
  exec?: string;
  member?: string;
  "ack-wait"?: string;
  "max-deliver"?: string;
  "dead-letter"?: string;
  "max-pending"?: string;
};

/** The group flags, or undefined without --group (then none of the others may be given). */
export function parseGroupArgs(raw: RawGroupArgs, topics: string[]): GroupSettings | undefined {
  const group = parseOptionalFlag("group", SubscriptionNameSchema, raw.group);
  if (group === undefined) {
    const stray = (["exec", "member", "ack-wait", "max-deliver", "dead-letter", "max-pending"] as const).find(
      (k) => raw[k] !== undefined,
    );
    if (stray !== undefined) throw usageError(`--${stray} needs --group`);
    return undefined;
  }
  if (topics.length !== 1) throw usageError("--group reads one topic or one pattern");
  if (raw.exec !== undefined && raw.exec.trim() === "") throw usageError("--exec: expected a command");
  const maxDeliver = parseOptionalFlag("max-deliver", PositiveCountSchema, raw["max-deliver"]);
  const maxPending = parseOptionalFlag("max-pending", PositiveCountSchema, raw["max-pending"]);
  if (maxDeliver !== undefined && maxDeliver > MAX_MAX_DELIVER)
    throw usageError(`--max-deliver: expected at most ${MAX_MAX_DELIVER}`);
  if (maxPending !== undefined && maxPending > MAX_MAX_PENDING)
    throw usageError(`--max-pending: expected at most ${MAX_MAX_PENDING}`);
  return {
    group,
    exec: raw.exec,
    member: parseOptionalFlag("member", SubscriptionNameSchema, raw.member),
    ackWaitMs: parseOptionalFlag("ack-wait", TimeoutSchema, raw["ack-wait"]),
    maxDeliver,
    deadLetter: parseOptionalFlag("dead-letter", TopicSchema, raw["dead-letter"]),
    maxPending,
  };
}

/**
 * Consumes `topic` as a member of the group until interrupted (or `count` messages are settled). Without --exec each
 * message is printed and acked once the output has it; with --exec each runs the command, one at a time.
 */
export async function runGroup(
  client: MqraftClient,
  topic: string,
  g: GroupSettings,
  out: LineOutput,
  options: { json: boolean; count: number | undefined },
): Promise<void> {
  const stream = client.consume(topic, {
    group: g.group,
    ...(g.member === undefined ? {} : { member: g.member }),
    ...(g.ackWaitMs === undefined ? {} : { ackWaitMs: g.ackWaitMs }),
    ...(g.maxDeliver === undefined ? {} : { maxDeliver: g.maxDeliver }),
    ...(g.deadLetter === undefined ? {} : { deadLetter: g.deadLetter }),
    ...(g.maxPending === undefined ? {} : { maxPending: g.maxPending }),
  });
  await stream.start();
  const stop = (): void => void stream.close();
  const unwatch = stopOnInterruptOrClosedOutput(stop, out);
  try {
    await settleAll(stream, g, out, options);
  } finally {
    unwatch();
    await stream.close();
  }
}

async function settleAll(
  stream: GroupStream,
  g: GroupSettings,
  out: LineOutput,
  options: { json: boolean; count: number | undefined },
): Promise<void> {
  let settled = 0;
  const acks: Promise<void>[] = [];
  for await (const message of stream) {
    if (g.exec !== undefined) {
      const ok = await runJob(g.exec, message, g.group);
      await (ok ? message.ack() : message.nak()).catch((e: unknown) => reportLateAck(message, e));
    } else {
      out.line(groupLine(message, options.json));
      // acked once the output has it: a reader that left does not cost the messages it never got
      if (!(await out.flush())) break;
      acks.push(message.ack().catch((e: unknown) => reportLateAck(message, e)));
      if (acks.length >= 1000) await Promise.all(acks.splice(0));
    }
    if (options.count !== undefined && ++settled >= options.count) break;
  }
  await Promise.all(acks);
}

function groupLine(message: ConsumedMessage, json: boolean): string {
  const line = messageLine(message, json);
  if (!json) return message.attempt > 1 ? `${line}  (delivery ${message.attempt})` : line;
  return `${line.slice(0, -1)},"attempt":${message.attempt}}`;
}

function reportLateAck(message: ConsumedMessage, e: unknown): void {
  console.error(`mqraft: settling ${message.topic} #${message.offset}: ${e instanceof Error ? e.message : String(e)}`);
}

/** Runs the job with the message on stdin; its output goes to ours. */
async function runJob(command: string, message: ConsumedMessage, group: string): Promise<boolean> {
  const child = Bun.spawn(["sh", "-c", command], {
    stdin: message.data,
    stdout: "inherit",
    stderr: "inherit",
    env: {
      ...process.env,
      MQRAFT_TOPIC: message.topic,
      MQRAFT_OFFSET: String(message.offset),
      MQRAFT_ATTEMPT: String(message.attempt),
      MQRAFT_GROUP: group,
    },
  });
  return (await child.exited) === 0;
}
