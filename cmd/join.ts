import { defineCommand } from "citty";
import { connect, type MqraftClient } from "../src/client/index.ts";
import { BrokerNode } from "../src/node/broker-node.ts";
import { AddressListSchema } from "../src/util/config-values.ts";
import { describeError, isMqraftError, MqraftError } from "../src/util/errors.ts";
import { brokerArgs, brokerConfigFromArgs } from "./broker.ts";
import { parseOptionalFlag, usageError } from "./cli-runner.ts";
import { askMembers } from "./cluster-members.ts";
import { clientArgs, setUpLogging, tokenFrom } from "./common-args.ts";

const { peers: _peers, id: _id, port: _port, ...rest } = brokerArgs;
const joinBrokerArgs = {
  id: { type: "string", description: "This broker's node id (required: one no other member has)", required: true },
  port: { type: "string", description: "Port for clients and peers (required)", required: true },
  ...rest,
} as const;
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
    token: { ...clientArgs.token, description: "An admin's token, to ask a cluster with auth on (else $MQRAFT_TOKEN)" },
    "token-file": clientArgs["token-file"],
  },
  async run({ args }) {
    setUpLogging(args);
    const managers = parseOptionalFlag("manager", AddressListSchema, args.manager) ?? [];
    const brokers = parseOptionalFlag("server", AddressListSchema, args.server) ?? [];
    if (managers.length + brokers.length === 0)
      throw usageError("join needs --manager host:port (or --server with a broker's address)");
    // a default id or port would join as node 1 on 8000, clashing with the first broker of a local cluster
    if (args.id === undefined) throw usageError("join needs --id N, a node id no other member has");
    if (args.port === undefined) throw usageError("join needs --port P, the port this broker listens on");
    const config = brokerConfigFromArgs(args, true);
    const token = tokenFrom(args);
    const node = await BrokerNode.start(config, () => askMembers([...managers, ...brokers], token.token));
    node.rejoining = true;
    const stop = () => void node.handOffLeadership().then(() => node.stop());
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
    await node.replayed();
    // The folder's configuration may be stale (this broker left, or was removed while away): the cluster decides.
    // Asking is harmless for a member: the leader answers at once for the same id at the same address.
    const member = node.isMember;
    if (member) node.log.info("A member of the cluster as of the data folder; checking with the cluster");
    await askToJoin(node, [...managers, ...brokers], !member, token);
    await untilMember(node);
    node.rejoining = false;
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

/**
 * Waits (a minute at most) until this broker has applied a configuration that counts it, or its own addition (it may
 * have been removed again within the same batch of entries, and polling would never see it a member), or it stopped.
 */
async function untilMember(node: BrokerNode): Promise<void> {
  const deadline = performance.now() + JOIN_TIMEOUT_MS;
  let stopped = false;
  void node.stopped.then(() => {
    stopped = true;
  });
  while (!node.isMember && !node.joinedThisRun && !stopped && performance.now() < deadline) await Bun.sleep(20);
}

/**
 * Asks until the leader adds this broker; a refusal (duplicate id, ...) stops the broker with exit 1. A broker that
 * is a member by its own folder keeps running if it cannot ask (its cluster may be without a leader just now).
 */
async function askToJoin(
  node: BrokerNode,
  servers: string[],
  stopOnFailure: boolean,
  token: { token?: string },
): Promise<void> {
  const { id, advertise } = node.config;
  const deadline = performance.now() + JOIN_TIMEOUT_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      const client = await connect({ servers, timeoutMs: 10_000, ...token });
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
      // a wrong or missing --cluster-secret-file does not fix itself by asking again
      if (isMqraftError(e, "UNAUTHENTICATED") || isMqraftError(e, "FORBIDDEN")) {
        await node.stop(new MqraftError("UNAUTHENTICATED", `the cluster refused to add node ${id}: ${e.message}`));
        return;
      }
      if (performance.now() > deadline) {
        if (!stopOnFailure) {
          node.log.warn(`Could not confirm membership with the cluster: ${describeError(e)}`);
          return;
        }
        await node.stop(
          new MqraftError("TIMEOUT", `could not join within ${JOIN_TIMEOUT_MS / 1000} s: ${describeError(e)}`),
        );
        return;
      }
      // The cluster may have added this broker with the answer lost: asking again after a removal would add it back.
      if (node.joinedThisRun) return;
      node.log.debug(`Join attempt ${attempt} failed: ${describeError(e)}; retrying`);
      await Bun.sleep(Math.min(1000, 100 * attempt));
    }
  }
}
