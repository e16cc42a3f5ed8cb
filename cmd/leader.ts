import { defineCommand } from "citty";
import { connect } from "../src/client/index.ts";
import { NodeIdSchema } from "../src/util/config-values.ts";
import { parseFlag } from "./cli-runner.ts";
import { clientArgs, serversFrom } from "./common-args.ts";

export default defineCommand({
  meta: {
    name: "leader",
    description: "Hand leadership to another voter (the current leader brings it up to date first)",
  },
  args: {
    "transfer-to": { type: "string", description: "Node id of the voter to lead", required: true },
    server: clientArgs.server,
  },
  async run({ args }) {
    const to = parseFlag("transfer-to", NodeIdSchema, args["transfer-to"]);
    const client = await connect({ servers: serversFrom(args), timeoutMs: 15_000 });
    try {
      await client.transferLeadership(to);
      console.log(`node ${to} is the leader`);
    } finally {
      await client.close();
    }
  },
});
