import { defineCommand } from "citty";
import * as v from "valibot";
import type { GroupSummary } from "../src/client/index.ts";
import { firstIssue } from "../src/util/config-values.ts";
import { SubscriptionNameSchema } from "../src/util/names.ts";
import { isWildcard } from "../src/util/topic-name.ts";
import { adminArgs, print, withClient } from "./admin-client.ts";
import { usageError } from "./cli-runner.ts";
import { table } from "./client-output.ts";

function parseName(raw: string | undefined): string {
  if (raw === undefined) throw usageError("a consumer group's name is needed");
  const result = v.safeParse(SubscriptionNameSchema, raw);
  if (!result.success) throw usageError(`group ${JSON.stringify(raw)}: ${firstIssue(result.issues)}`);
  return result.output;
}

const nameArg = { name: { type: "positional", description: "The consumer group's name", required: true } } as const;

/** One row per group: where it stands in its topic, and how its messages fared. */
export function groupTable(groups: GroupSummary[]): string[] {
  const rows = groups.map((g) => [
    g.name,
    g.topic,
    String(g.members.filter((m) => m.live).length),
    String(g.members.length),
    String(g.next),
    String(g.outstanding),
    String(g.redeliveries),
    String(g.acked),
    String(g.deadLettered),
  ]);
  return table([["GROUP", "TOPIC", "LIVE", "MEMBERS", "NEXT", "OUTSTANDING", "REDELIVER", "ACKED", "DEAD"], ...rows]);
}

function groupInfoLines(g: GroupSummary): string[] {
  return [
    isWildcard(g.topic) ? `group ${g.name} on the topics of ${g.topic}` : `group ${g.name} on topic ${g.topic}`,
    `ack wait ${g.ackWaitMs / 1000} s, max deliver ${g.maxDeliver}, max pending ${g.maxPending} per member${g.run === undefined ? "" : ` in runs of up to ${g.run}`}, dead letters to ${g.deadLetter}`,
    `${isWildcard(g.topic) ? "messages handed out" : "next offset"} ${g.next}; outstanding ${g.outstanding}, waiting for redelivery ${g.redeliveries}`,
    `acked ${g.acked}, redelivered ${g.redelivered}, dead-lettered ${g.deadLettered}, dropped by retention ${g.dropped}`,
    ...(g.members.length === 0
      ? ["no members"]
      : table([
          ["MEMBER", "LIVE", "HOLDING"],
          ...g.members.map((m) => [m.name, m.live ? "yes" : "no", String(m.holding)]),
        ])),
    ...(g.deadLetters.length === 0
      ? []
      : table([
          ["DEAD OFFSET", "DELIVERIES", "REASON", g.deadLetter],
          ...g.deadLetters.map((d) => [
            d.topic === undefined ? String(d.offset) : `${d.topic}#${d.offset}`,
            String(d.deliveries),
            d.reason,
            d.deadLetterOffset === undefined ? "waiting" : String(d.deadLetterOffset),
          ]),
        ])),
  ];
}

const ls = defineCommand({
  meta: { name: "ls", description: "List the consumer groups: members, outstanding, acked and dead-lettered counts" },
  args: { ...adminArgs },
  async run({ args }) {
    const groups = await withClient(args, (client) => client.groups());
    if (args.json) print(groups.map((g) => JSON.stringify(g)));
    else print(groups.length === 0 ? ["no consumer groups"] : groupTable(groups));
  },
});

const info = defineCommand({
  meta: { name: "info", description: "One consumer group: settings, counts, members and its latest dead letters" },
  args: { ...nameArg, ...adminArgs },
  async run({ args }) {
    const name = parseName(args.name);
    const [group] = await withClient(args, (client) => client.groups(name));
    if (group === undefined) return;
    print(args.json ? [JSON.stringify(group)] : groupInfoLines(group));
  },
});

const rm = defineCommand({
  meta: { name: "rm", description: "Delete a consumer group (through the log); its members' streams end" },
  args: { ...nameArg, ...adminArgs },
  async run({ args }) {
    const name = parseName(args.name);
    await withClient(args, (client) => client.removeGroup(name));
    print([args.json ? JSON.stringify({ removed: name }) : `consumer group ${name} removed`]);
  },
});

export default defineCommand({
  meta: { name: "group", description: "Consumer groups (work queues): group ls|info|rm" },
  subCommands: { ls, info, rm },
});
