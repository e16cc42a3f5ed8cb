import { MqraftError } from "../util/errors.ts";
import type { StatusReply } from "../wire/index.ts";
import { isRetryable } from "./client-errors.ts";
import { withDeadline } from "./deadline.ts";
import type { RequestChannel } from "./request-channel.ts";
import type { ServerPool } from "./server-pool.ts";

/** The cluster as one broker sees it: `leader` is 0 when it knows of none. */
export type ClusterStatus = Omit<StatusReply, "type" | "id">;

/**
 * Asks any broker (`first` if given) for the cluster's status; if it names a leader other than itself, asks the
 * leader as well and prefers its answer, since only the leader knows how far each follower has come. Rejects with
 * UNAVAILABLE if no broker answers before the deadline.
 */
export async function fetchStatus(pool: ServerPool, deadline: number, first?: string): Promise<ClusterStatus> {
  let hint = first;
  for (;;) {
    const channel = await pool.openBroker(deadline, hint);
    hint = undefined;
    let reply: ClusterStatus;
    try {
      reply = await ask(channel, deadline);
    } catch (e) {
      if (!isRetryable(e)) throw e;
      pool.demote(channel.address);
      continue;
    } finally {
      channel.close();
    }
    pool.learnMembers(reply.nodes);
    if (reply.leader === 0 || reply.leader === channel.welcome.nodeId) return reply;
    const leaderAddress = reply.nodes.find((node) => node.id === reply.leader)?.address;
    if (leaderAddress === undefined) return reply;
    try {
      const leaderChannel = await pool.open(leaderAddress, deadline);
      try {
        return await ask(leaderChannel, deadline);
      } finally {
        leaderChannel.close();
      }
    } catch {
      // the leader's view is the better one, but this broker's answer is still a true answer
      return reply;
    }
  }
}

async function ask(channel: RequestChannel, deadline: number): Promise<ClusterStatus> {
  const { leader, term, nodes } = await withDeadline(
    channel.ask({ type: "status" }),
    deadline,
    () => new MqraftError("TIMEOUT", `${channel.address} did not answer status in time`),
  );
  return { leader, term, nodes };
}
