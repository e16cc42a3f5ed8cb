import { connect, type MqraftClient, type Subscription } from "../src/client/index.ts";
import type { BenchSettings } from "./bench-flags.ts";
import { STAMP_BYTES } from "./bench-flags.ts";
import { wallMs } from "./bench-stats.ts";

export interface ReceiveLoad {
  /** Resolves once every subscriber has received `settings.msgs` messages. */
  readonly done: Promise<void>;
  close(): Promise<void>;
}

/** The send time a bench publisher wrote into the payload, or undefined for a payload too short to hold one. */
export function sentAt(data: Uint8Array): number | undefined {
  if (data.length < STAMP_BYTES) return undefined;
  // through a scratch array, as bench-publish.ts writes it: a DataView or subarray would give each payload an ArrayBuffer
  for (let i = 0; i < STAMP_BYTES; i++) stampBytes[i] = data[i] as number;
  return stamp[0];
}

const stamp = new Float64Array(1);
const stampBytes = new Uint8Array(stamp.buffer);

/**
 * `count` subscribers of `settings.topic`, each reading `settings.msgs` messages from `from`; `received` gets each
 * message's publish→receive time in ms when its payload carries a send time. Resolves once all are subscribed.
 */
export async function receiveLoad(
  settings: BenchSettings,
  count: number,
  from: "earliest" | "latest",
  received: (ms: number | undefined) => void,
): Promise<ReceiveLoad> {
  const clients: MqraftClient[] = [];
  const subscriptions: Subscription[] = [];
  for (let i = 0; i < count; i++) {
    const client = await connect({
      servers: settings.servers,
      timeoutMs: settings.timeoutMs,
      token: settings.token,
      tls: settings.tls,
    });
    clients.push(client);
    subscriptions.push(await client.subscribe(settings.topic, { from }));
  }
  const read = async (subscription: Subscription): Promise<void> => {
    let n = 0;
    for await (const message of subscription) {
      const sent = sentAt(message.data);
      received(sent === undefined ? undefined : wallMs() - sent);
      if (++n >= settings.msgs) break;
    }
    if (n < settings.msgs) throw new Error(`the subscription ended after ${n} of ${settings.msgs} messages`);
  };
  return {
    done: Promise.all(subscriptions.map(read)).then(() => undefined),
    async close() {
      await Promise.allSettled(clients.map((c) => c.close()));
    },
  };
}
