import { defineCommand } from "citty";
import { connect } from "../src/client/index.ts";
import { NodeIdSchema } from "../src/util/config-values.ts";
import { parseFlag, parseOptionalFlag } from "./cli-runner.ts";
import { TimeoutSchema, timeoutArg } from "./client-flags.ts";
import { clientArgs, credentialsFrom, serversFrom } from "./common-args.ts";

const DEFAULT_TIMEOUT_S = 15;

export default defineCommand({
  meta: {
    name: "leader",
    description: "Hand leadership to another voter (the current leader brings it up to date first)",
  },
  args: {
    "transfer-to": { type: "string", description: "Node id of the voter to lead", required: true, valueHint: "ID" },
    ...clientArgs,
    timeout: timeoutArg(DEFAULT_TIMEOUT_S, "for the new leader to take over"),
  },
  async run({ args }) {
    const to = parseFlag("transfer-to", NodeIdSchema, args["transfer-to"]);
    const timeoutMs = parseOptionalFlag("timeout", TimeoutSchema, args.timeout) ?? DEFAULT_TIMEOUT_S * 1000;
    const client = await connect({ servers: serversFrom(args), timeoutMs, ...credentialsFrom(args) });
    try {
      // already leading is what was asked: say so at once instead of asking the leader to hand over to itself
      const before = await client.status();
      const already = before.leader === to;
      if (!already) await client.transferLeadership(to);
      const term = already ? before.term : (await client.status()).term;
      console.log(
        args.json
          ? JSON.stringify({ leader: to, term, changed: !already })
          : already
            ? `node ${to} is already the leader`
            : `node ${to} is the leader`,
      );
    } finally {
      await client.close();
    }
  },
});
