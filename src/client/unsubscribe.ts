import { isMqraftError, MqraftError } from "../util/errors.ts";
import { isRetryable, leaderHint } from "./client-errors.ts";
import { backoffMs, now, remaining, sleep, withDeadline } from "./deadline.ts";
import type { RequestChannel } from "./request-channel.ts";
import type { ServerPool } from "./server-pool.ts";

const MAX_QUICK_REDIRECTS = 3;

export interface UnsubscribeTarget {
  topics: readonly string[];
  durable: string | undefined;
  timeoutMs: number;
}

/**
 * Stops subscription `subscriptionId` on `channel` and closes the channel. Without `remove` a failure only means the
 * stream ends with the connection, so it is not reported. With `remove` the durable subscription must be deleted
 * from the cluster, which only the leader can do: when the stream's broker refuses (or its connection is gone),
 * the subscription is taken up again on the leader, unchanged (same name and topics), and removed there, because
 * the protocol names what to remove by a subscription number on the same connection.
 */
export async function unsubscribe(
  pool: ServerPool,
  channel: RequestChannel | undefined,
  subscriptionId: number,
  remove: boolean,
  target: UnsubscribeTarget,
): Promise<void> {
  const deadline = now() + target.timeoutMs;
  const removing = remove && target.durable !== undefined;
  let hint: string | undefined;
  if (channel?.isOpen) {
    try {
      await ask(channel, deadline, subscriptionId, removing);
      return;
    } catch (e) {
      if (!removing) return;
      if (!isRetryable(e)) throw e;
      hint = leaderHint(e);
    } finally {
      channel.close();
    }
  } else channel?.close();
  if (!removing || target.durable === undefined) return;
  await removeOnLeader(pool, target.durable, target.topics, deadline, hint);
}

async function removeOnLeader(
  pool: ServerPool,
  durable: string,
  topics: readonly string[],
  deadline: number,
  first: string | undefined,
): Promise<void> {
  let hint = first;
  for (let attempt = 0; ; attempt++) {
    const channel = await pool.openBroker(deadline, hint);
    try {
      const subscribed = await withDeadline(
        channel.ask({ type: "subscribe", topics: [...topics], from: "latest", durable }),
        deadline,
        () => timeout(channel.address),
      );
      await ask(channel, deadline, subscribed.subscription, true);
      return;
    } catch (e) {
      if (!isRetryable(e) || remaining(deadline) === 0) throw e;
      hint = leaderHint(e);
      if (hint === undefined || attempt >= MAX_QUICK_REDIRECTS) {
        if (isMqraftError(e, "NOT_LEADER")) pool.demote(channel.address);
        await sleep(Math.min(remaining(deadline), backoffMs(attempt)));
      }
    } finally {
      channel.close();
    }
  }
}

async function ask(channel: RequestChannel, deadline: number, subscription: number, remove: boolean): Promise<void> {
  await withDeadline(
    channel.ask(remove ? { type: "unsubscribe", subscription, remove: true } : { type: "unsubscribe", subscription }),
    deadline,
    () => timeout(channel.address),
  );
}

function timeout(address: string): MqraftError {
  return new MqraftError("TIMEOUT", `${address} did not answer unsubscribe in time`);
}
