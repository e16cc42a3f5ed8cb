import { connect, type GroupStream, type MqraftClient } from "../src/client/index.ts";
import type { BenchSettings } from "./bench-flags.ts";
import type { ReceiveLoad } from "./bench-receive.ts";
import { sentAt } from "./bench-receive.ts";
import { wallMs } from "./bench-stats.ts";

/**
 * `count` members of consumer group `settings.group` on `settings.topic`, created at the topic's end (only what the
 * bench publishes counts): each acks every message it gets, and the load is done once the group has acked
 * `settings.msgs` messages in all (each acked once). The group is removed at the end. `received` gets each
 * message's publish→receive time in ms.
 */
export async function groupLoad(
  settings: BenchSettings,
  count: number,
  _from: "earliest" | "latest",
  received: (ms: number | undefined) => void,
): Promise<ReceiveLoad> {
  const group = settings.group as string;
  const clients: MqraftClient[] = [];
  const streams: GroupStream[] = [];
  for (let i = 0; i < count; i++) {
    const client = await connect({
      servers: settings.servers,
      timeoutMs: settings.timeoutMs,
      token: settings.token,
      tls: settings.tls,
    });
    clients.push(client);
    const options = { group, member: `bench-${i + 1}`, from: "latest" as const };
    const { maxPending } = settings;
    const stream = client.consume(settings.topic, maxPending === undefined ? options : { ...options, maxPending });
    await stream.start();
    streams.push(stream);
  }
  let acked = 0;
  const { promise: done, resolve, reject } = Promise.withResolvers<void>();
  // in batches, as a member that takes what it has at once would (the library's fetch): one settle per batch
  const read = async (stream: GroupStream): Promise<void> => {
    for await (const batch of stream.batches()) {
      const at = wallMs();
      for (const message of batch.messages) {
        const sent = sentAt(message.data);
        received(sent === undefined ? undefined : at - sent);
      }
      const n = batch.messages.length;
      batch.ack().then(() => {
        acked += n;
        if (acked >= settings.msgs) resolve();
      }, reject);
    }
  };
  for (const stream of streams) read(stream).catch(reject);
  return {
    done,
    async close() {
      await Promise.allSettled(streams.map((s) => s.close()));
      await clients[0]?.removeGroup(group).catch(() => {});
      await Promise.allSettled(clients.map((c) => c.close()));
    },
  };
}
