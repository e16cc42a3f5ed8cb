import { defineCommand } from "citty";
import { connect } from "../src/client/index.ts";
import { NodeIdSchema } from "../src/util/config-values.ts";
import { parseFlag } from "./cli-runner.ts";
import { clientArgs, serversFrom } from "./common-args.ts";

export default defineCommand({
  meta: { name: "leave", description: "Remove a broker from the cluster; it stops serving and exits" },
  args: {
    id: { type: "string", description: "Node id of the broker to remove", required: true },
    server: clientArgs.server,
  },
  async run({ args }) {
    const id = parseFlag("id", NodeIdSchema, args.id);
    const client = await connect({ servers: serversFrom(args), timeoutMs: 15_000 });
    try {
      await client.leave(id);
      console.log(`node ${id} removed from the cluster`);
    } finally {
      await client.close();
    }
  },
});
