import { defineCommand } from "citty";
import * as v from "valibot";
import { firstIssue } from "../src/util/config-values.ts";
import { TopicSchema } from "../src/util/names.ts";
import { clearJson } from "../src/util/topic-name.ts";
import { adminArgs, print, withClient } from "./admin-client.ts";
import { retentionText, topicInfoLines, topicJson, topicTable } from "./admin-output.ts";
import { parseOptionalFlag, usageError } from "./cli-runner.ts";

const WholeNumberFlag = v.pipe(
  v.string(),
  v.regex(/^\d+$/, "expected a whole number"),
  v.transform(Number),
  v.safeInteger("too large"),
);

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
    if (args.json) print(topics.map((t) => clearJson(t)));
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
    description:
      "One topic: first and last offset, messages, bytes, retention in force, durable readers, live subscribers",
  },
  args: { topic: { type: "positional", description: "The topic", required: true }, ...adminArgs },
  async run({ args }) {
    const topic = parseTopic(args.topic);
    const [{ retention, topics }, live] = await withClient(args, async (client) => {
      const list = await client.topics(topic);
      return [list, await client.topicSubscribers(topic)] as const;
    });
    const [one] = topics;
    if (one === undefined) return;
    print(args.json ? [topicJson(one, retention, live)] : topicInfoLines(one, retention, live));
  },
});

const purge = defineCommand({
  meta: {
    name: "purge",
    description: "Drop a topic's oldest messages, all or all but the last N, through the log (offsets are not reused)",
  },
  args: {
    topic: { type: "positional", description: "The topic", required: true },
    keep: { type: "string", description: "Keep the newest N messages (default 0)", valueHint: "N" },
    ...adminArgs,
  },
  async run({ args }) {
    const topic = parseTopic(args.topic);
    const keep = parseOptionalFlag("keep", WholeNumberFlag, args.keep) ?? 0;
    const after = await withClient(args, (client) => client.purgeTopic(topic, keep));
    print([
      args.json
        ? clearJson(after)
        : `${topic}: ${after.messages} message${after.messages === 1 ? "" : "s"} kept, from offset ${after.firstOffset}`,
    ]);
  },
});

export default defineCommand({
  meta: { name: "topic", description: "Topics: topic ls, topic info <topic>, topic purge <topic>" },
  subCommands: { ls, info, purge },
});
