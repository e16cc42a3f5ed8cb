import { defineCommand } from "citty";
import { connect, type MqraftClient } from "../src/client/index.ts";
import { BrokerNode } from "../src/node/broker-node.ts";
import { AddressListSchema } from "../src/util/config-values.ts";
import { describeError, isMqraftError, MqraftError } from "../src/util/errors.ts";
import { brokerArgs, brokerConfigFromArgs } from "./broker.ts";
import { parseOptionalFlag, usageError } from "./cli-runner.ts";
import { setUpLogging } from "./common-args.ts";

const { peers: _peers, ...joinBrokerArgs } = brokerArgs;
const JOIN_TIMEOUT_MS = 60_000;

export default defineCommand({
  meta: {
    name: "join",
    description: "Start a broker that joins an existing cluster (through a manager or any broker)",
  },
  args: {
    ...joinBrokerArgs,
    server: {
      type: "string",
      description: "Brokers to ask instead of (or besides) --manager, host:port[,host:port...]",
    },
  },
  async run({ args }) {
    setUpLogging(args);
    const managers = parseOptionalFlag("manager", AddressListSchema, args.manager) ?? [];
    const brokers = parseOptionalFlag("server", AddressListSchema, args.server) ?? [];
    if (managers.length + brokers.length === 0)
      throw usageError("join needs --manager host:port (or --server with a broker's address)");
    const config = brokerConfigFromArgs(args, true);
    const node = await BrokerNode.start(config);
    const stop = () => void node.handOffLeadership().then(() => node.stop());
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    await node.replayed();
    if (node.isMember) node.log.info("Already a member of the cluster (from the data folder); not asking to join");
    else await askToJoin(node, [...managers, ...brokers]);
    const reason = await node.stopped;
    if (reason !== null) throw reason;
  },
});

/**
 * A data folder that remembers members sharing not one id and address with the cluster belongs to
 * another cluster: joining with it would mix two logs whose entries agree on index and term only by chance.
 */
async function refuseForeignDataFolder(node: BrokerNode, client: MqraftClient): Promise<void> {
  const remembered = node.knownMembers;
  if (remembered.length === 0) return;
  const { nodes } = await client.status();
  const current = new Set(nodes.map((n) => `${n.id}=${n.address}`));
  if (remembered.some((m) => current.has(m))) return;
  throw new MqraftError(
    "REFUSED",
    `the data folder ${node.config.dataDir} belongs to another cluster (it knows ${remembered.join(",")}; this one is ${[...current].join(",")}); use a new --data folder`,
  );
}

/** Asks until the leader adds this broker; a refusal (duplicate id, ...) stops the broker with exit 1. */
async function askToJoin(node: BrokerNode, servers: string[]): Promise<void> {
  const { id, advertise } = node.config;
  const deadline = performance.now() + JOIN_TIMEOUT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      const client = await connect({ servers, timeoutMs: 10_000 });
      try {
        await refuseForeignDataFolder(node, client);
        await client.join(id, advertise);
      } finally {
        await client.close();
      }
      node.log.info(`Joined the cluster as node ${id} at ${advertise}; catching up as a learner`);
      return;
    } catch (e) {
      if (isMqraftError(e, "REFUSED") || isMqraftError(e, "BAD_MESSAGE")) {
        await node.stop(new MqraftError("REFUSED", `the cluster refused to add node ${id}: ${e.message}`));
        return;
      }
      if (performance.now() > deadline) {
        await node.stop(
          new MqraftError("TIMEOUT", `could not join within ${JOIN_TIMEOUT_MS / 1000} s: ${describeError(e)}`),
        );
        return;
      }
      node.log.debug(`Join attempt ${attempt} failed: ${describeError(e)}; retrying`);
      await Bun.sleep(Math.min(1000, 100 * attempt));
    }
  }
}
