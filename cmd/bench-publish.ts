import { connect, type MqraftClient } from "../src/client/index.ts";
import type { BenchSettings } from "./bench-flags.ts";
import { STAMP_BYTES } from "./bench-flags.ts";
import { wallMs } from "./bench-stats.ts";

/** Hands out message numbers to every worker of every client, paced to `rate` per second when given. */
class Slots {
  private next = 0;
  private start = 0;

  constructor(
    private readonly total: number,
    private readonly rate: number | undefined,
  ) {}

  begin(): void {
    this.start = performance.now();
  }

  /** The next message number once it is due; undefined when all are taken. */
  async take(): Promise<number | undefined> {
    if (this.next >= this.total) return undefined;
    const k = this.next++;
    if (this.rate !== undefined) {
      const wait = this.start + (k * 1000) / this.rate - performance.now();
      if (wait >= 1) await Bun.sleep(wait);
    }
    return k;
  }
}

// The stamp goes through a scratch array: a DataView over each payload would make the engine give every payload an
// ArrayBuffer of its own (reading `.buffer`), which cost the bench client more than the client library did.
const stamp = new Float64Array(1);
const stampBytes = new Uint8Array(stamp.buffer);

/** A fresh payload per message (the client may resend it until acked); its first 8 bytes carry the send time (little-endian). */
function payload(template: Uint8Array): Uint8Array {
  const data = template.slice();
  if (data.length >= STAMP_BYTES) {
    stamp[0] = wallMs();
    data.set(stampBytes, 0);
  }
  return data;
}

export interface PublishLoad {
  /** Opens the connections; call before `run` so that connecting is not timed. */
  ready(): Promise<void>;
  /** Publishes every message; `acked` gets each publish→ack time in ms. */
  run(acked: (ms: number) => void): Promise<void>;
  close(): Promise<void>;
}

/** `settings.clients` clients, each keeping `settings.window` publishes in flight, until `settings.msgs` are acked. */
export function publishLoad(settings: BenchSettings): PublishLoad {
  const clients: MqraftClient[] = [];
  const template = new Uint8Array(settings.size).fill(0x61);
  const slots = new Slots(settings.msgs, settings.rate);
  const worker = async (client: MqraftClient, acked: (ms: number) => void): Promise<void> => {
    for (let k = await slots.take(); k !== undefined; k = await slots.take()) {
      const t = performance.now();
      await client.publish(settings.topic, payload(template));
      acked(performance.now() - t);
    }
  };
  return {
    async ready() {
      for (let i = 0; i < settings.clients; i++) {
        const client = await connect({
          servers: settings.servers,
          token: settings.token,
          tls: settings.tls,
          window: settings.window,
          timeoutMs: settings.timeoutMs,
        });
        clients.push(client);
        // the first publish finds the leader: a cost of connecting, not of publishing
        await client.publish(settings.topic, payload(template));
      }
    },
    async run(acked) {
      slots.begin();
      const workers = clients.flatMap((client) => Array.from({ length: settings.window }, () => worker(client, acked)));
      await Promise.all(workers);
    },
    async close() {
      await Promise.allSettled(clients.map((c) => c.close()));
    },
  };
}
