import { defineCommand } from "citty";
import * as v from "valibot";
import { firstIssue } from "../src/util/config-values.ts";
import { TopicSchema } from "../src/util/names.ts";
import { adminArgs, print, withClient } from "./admin-client.ts";
import { retentionText, topicInfoLines, topicJson, topicTable } from "./admin-output.ts";
import { usageError } from "./cli-runner.ts";

function parseTopic(raw: string | undefined): string {
  if (raw === undefined) throw usageError("a topic is needed");
  const result = v.safeParse(TopicSchema, raw);
  if (!result.success) throw usageError(`topic ${JSON.stringify(raw)}: ${firstIssue(result.issues)}`);
  return result.output;
}

const ls = defineCommand({
  meta: { name: "ls", description: "List the topics: first and next offset, messages, bytes, durable readers" },
  args: adminArgs,
  async run({ args }) {
    const { retention, topics } = await withClient(args, (client) => client.topics());
    if (args.json) print(topics.map((t) => JSON.stringify(t)));
    else
      print([
        ...(topics.length === 0 ? ["no topics yet"] : topicTable(topics)),
        `retention: ${retentionText(retention)}`,
      ]);
  },
});

const info = defineCommand({
  meta: {
    name: "info",
    description: "One topic: first and last offset, messages, bytes, retention in force, durable readers",
  },
  args: { topic: { type: "positional", description: "The topic", required: true }, ...adminArgs },
  async run({ args }) {
    const topic = parseTopic(args.topic);
    const { retention, topics } = await withClient(args, (client) => client.topics(topic));
    const [one] = topics;
    if (one === undefined) return;
    print(args.json ? [topicJson(one, retention)] : topicInfoLines(one, retention));
  },
});

export default defineCommand({
  meta: { name: "topic", description: "Inspect topics: topic ls, topic info <topic>" },
  subCommands: { ls, info },
});
