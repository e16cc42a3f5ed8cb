import { defineCommand } from "citty";
import * as v from "valibot";
import { firstIssue } from "../src/util/config-values.ts";
import { SubscriptionNameSchema, TopicSchema } from "../src/util/names.ts";
import { clearJson } from "../src/util/topic-name.ts";
import { adminArgs, print, withClient } from "./admin-client.ts";
import { durableTable } from "./admin-output.ts";
import { parseOptionalFlag, usageError } from "./cli-runner.ts";
import { StartFlagSchema } from "./client-flags.ts";

function parseName(raw: string | undefined): string {
  if (raw === undefined) throw usageError("a durable subscription's name is needed");
  const result = v.safeParse(SubscriptionNameSchema, raw);
  if (!result.success) throw usageError(`name ${JSON.stringify(raw)}: ${firstIssue(result.issues)}`);
  return result.output;
}

const nameArg = {
  name: { type: "positional", description: "The durable subscription's name", required: true },
} as const;

const ls = defineCommand({
  meta: { name: "ls", description: "List the durable subscriptions: position and lag in each topic" },
  args: {
    ...adminArgs,
    topic: { type: "string", description: "Only those that read this topic", valueHint: "TOPIC" },
  },
  async run({ args }) {
    const topic = parseOptionalFlag("topic", TopicSchema, args.topic);
    const durables = await withClient(args, (client) => client.durables(topic === undefined ? {} : { topic }));
    if (args.json) print(durables.map((d) => clearJson(d)));
    else print(durables.length === 0 ? ["no durable subscriptions"] : durableTable(durables));
  },
});

const info = defineCommand({
  meta: { name: "info", description: "One durable subscription: its topics, position and lag in each" },
  args: { ...nameArg, ...adminArgs },
  async run({ args }) {
    const name = parseName(args.name);
    const [durable] = await withClient(args, (client) => client.durables({ name }));
    if (durable === undefined) return;
    print(args.json ? [clearJson(durable)] : durableTable([durable]));
  },
});

const rm = defineCommand({
  meta: {
    name: "rm",
    description: "Delete a durable subscription (through the log); its readers stop at their next ack",
  },
  args: { ...nameArg, ...adminArgs },
  async run({ args }) {
    const name = parseName(args.name);
    await withClient(args, (client) => client.removeDurable(name));
    print([args.json ? JSON.stringify({ removed: name }) : `durable subscription ${name} removed`]);
  },
});

const seek = defineCommand({
  meta: {
    name: "seek",
    description: "Move a durable subscription to earliest, latest, an offset or a time in every topic it reads",
  },
  args: {
    ...nameArg,
    to: {
      type: "string",
      description: "earliest, latest, an offset, or an RFC 3339 time (the first message stored at or after it)",
      required: true,
      valueHint: "earliest|latest|N|TIME",
    },
    ...adminArgs,
  },
  async run({ args }) {
    const name = parseName(args.name);
    const to = parseOptionalFlag("to", StartFlagSchema, args.to);
    if (to === undefined) throw usageError("--to is needed: earliest, latest, an offset or an RFC 3339 time");
    const durable = await withClient(args, (client) => client.seekDurable(name, to));
    print(args.json ? [clearJson(durable)] : durableTable([durable]));
  },
});

export default defineCommand({
  meta: { name: "durable", description: "Durable subscriptions: durable ls|info|rm|seek" },
  subCommands: { ls, info, rm, seek },
});
