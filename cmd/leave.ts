import { defineCommand } from "citty";
import { connect } from "../src/client/index.ts";
import { NodeIdSchema } from "../src/util/config-values.ts";
import { parseFlag, parseOptionalFlag } from "./cli-runner.ts";
import { TimeoutSchema, timeoutArg } from "./client-flags.ts";
import { clientArgs, credentialsFrom, serversFrom } from "./common-args.ts";

const DEFAULT_TIMEOUT_S = 15;

export default defineCommand({
  meta: {
    name: "leave",
    description: "Remove a broker from the cluster (a leader hands leadership over first); it stops serving and exits",
  },
  args: {
    id: { type: "string", description: "Node id of the broker to remove", required: true, valueHint: "ID" },
    ...clientArgs,
    timeout: timeoutArg(DEFAULT_TIMEOUT_S, "for the removal to be committed"),
  },
  async run({ args }) {
    const id = parseFlag("id", NodeIdSchema, args.id);
    const timeoutMs = parseOptionalFlag("timeout", TimeoutSchema, args.timeout) ?? DEFAULT_TIMEOUT_S * 1000;
    const client = await connect({ servers: serversFrom(args), timeoutMs, ...credentialsFrom(args) });
    try {
      await client.leave(id);
      console.log(args.json ? JSON.stringify({ removed: id }) : `node ${id} removed from the cluster`);
    } finally {
      await client.close();
    }
  },
});
