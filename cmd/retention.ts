import { defineCommand } from "citty";
import * as v from "valibot";
import type { RetentionPolicy } from "../src/client/index.ts";
import { ByteSizeSchema, DurationSchema, PositiveCountSchema } from "../src/util/config-values.ts";
import { adminArgs, print, withClient } from "./admin-client.ts";
import { retentionText } from "./admin-output.ts";
import { parseOptionalFlag, usageError } from "./cli-runner.ts";

const AT_LEAST_ONE = "expected at least 1";
const MaxBytesFlag = v.pipe(ByteSizeSchema, v.minValue(1, AT_LEAST_ONE));
const MaxAgeFlag = v.pipe(DurationSchema, v.minValue(1, AT_LEAST_ONE));

/** One line: the policy as JSON (only the limits that are set), or in words. */
function policyLine(policy: RetentionPolicy, json: boolean | undefined): string {
  return json ? JSON.stringify(policy) : `retention: ${retentionText(policy)}`;
}

const show = defineCommand({
  meta: { name: "show", description: "The cluster's retention policy (replicated: the same on every broker)" },
  args: adminArgs,
  async run({ args }) {
    const policy = await withClient(args, (client) => client.retention());
    print([policyLine(policy, args.json)]);
  },
});

const set = defineCommand({
  meta: {
    name: "set",
    description: "Replace the cluster's retention policy through the log; a limit not given is unlimited",
  },
  args: {
    "max-messages": { type: "string", description: "Keep at most this many messages per topic", valueHint: "N" },
    "max-bytes": {
      type: "string",
      description: "Keep at most this many payload bytes per topic (e.g. 1GB)",
      valueHint: "SIZE",
    },
    "max-age": { type: "string", description: "Drop messages older than this (e.g. 7d)", valueHint: "DURATION" },
    unlimited: { type: "boolean", description: "No limit at all: keep every message", default: false },
    ...adminArgs,
  },
  async run({ args }) {
    const maxMessages = parseOptionalFlag("max-messages", PositiveCountSchema, args["max-messages"]);
    const maxBytes = parseOptionalFlag("max-bytes", MaxBytesFlag, args["max-bytes"]);
    const maxAgeMs = parseOptionalFlag("max-age", MaxAgeFlag, args["max-age"]);
    const policy: RetentionPolicy = {
      ...(maxMessages === undefined ? {} : { maxMessages }),
      ...(maxBytes === undefined ? {} : { maxBytes }),
      ...(maxAgeMs === undefined ? {} : { maxAgeMs }),
    };
    const limits = Object.keys(policy).length;
    // a bare `retention set` would drop every limit: say so explicitly
    if (limits === 0 && !args.unlimited)
      throw usageError("give --max-messages, --max-bytes or --max-age, or --unlimited to keep every message");
    if (limits > 0 && args.unlimited) throw usageError("--unlimited cannot be given with a limit");
    await withClient(args, (client) => client.setRetention(policy));
    print([policyLine(policy, args.json)]);
  },
});

export default defineCommand({
  meta: { name: "retention", description: "The cluster's retention policy: retention show, retention set" },
  subCommands: { show, set },
});
