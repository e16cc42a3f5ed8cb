import type { ClientInbound } from "../../src/wire/index.ts";
import { waitFor } from "./wait.ts";
import { openClient } from "./wire-probe.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/**
 * Answers on loopback come within milliseconds: waitFor's default 50 ms poll made every call here wait for nothing
 * (a test publishing in 60 rounds spent 3 s of its 4 s polling). Each poll reads only what already arrived.
 */
const ANSWER_POLL_MS = 5;

/**
 * Publishes `values` to `topic` over one raw connection, pipelined, and returns the offsets the
 * broker acknowledged (by value). Used where a test must see exactly what the broker answered.
 */
export async function publishRaw(
  address: string,
  topic: string,
  values: string[],
  timeoutMs = 20_000,
): Promise<Map<string, number>> {
  const { connection, received } = await openClient(address);
  try {
    for (const [id, value] of values.entries())
      connection.send({ type: "publish", id, topic, data: encoder.encode(value) });
    await waitFor(
      `${values.length} answers from ${address}`,
      () => {
        const answered = received.filter(
          (m) => m.type === "published" || (m.type === "error" && m.id !== undefined),
        ).length;
        if (!connection.isOpen && answered < values.length)
          throw new Error(`connection closed after ${answered} answers`);
        return answered >= values.length ? true : undefined;
      },
      { timeoutMs, intervalMs: ANSWER_POLL_MS },
    );
  } finally {
    connection.close();
  }
  const acked = new Map<string, number>();
  for (const m of received) if (m.type === "published") acked.set(values[m.id] as string, m.offset);
  const refused = received.filter((m) => m.type === "error");
  if (refused.length > 0) throw new Error(`publishes refused: ${JSON.stringify(refused.slice(0, 3))}`);
  return acked;
}

/** Reads a topic from `address` from offset 0 until `count` messages arrived; returns them in order. */
export async function readRaw(
  address: string,
  topic: string,
  count: number,
  timeoutMs = 20_000,
): Promise<{ offset: number; value: string }[]> {
  const { connection, received } = await openClient(address);
  connection.send({ type: "subscribe", id: 1, topics: [topic], from: "earliest" });
  const messages = () => received.filter((m): m is Extract<ClientInbound, { type: "message" }> => m.type === "message");
  try {
    await waitFor(
      `${count} messages of ${topic} from ${address}`,
      () => (messages().length >= count ? true : undefined),
      { timeoutMs, intervalMs: ANSWER_POLL_MS },
    );
  } finally {
    connection.close();
  }
  return messages().map((m) => ({ offset: m.offset, value: decoder.decode(m.data) }));
}

/** Everything committed in `topic` on the broker at `address` when this is called, in order, read from that broker alone. */
export async function drainRaw(
  address: string,
  topic: string,
  timeoutMs = 20_000,
): Promise<{ offset: number; value: string }[]> {
  const { connection, received } = await openClient(address);
  connection.send({ type: "subscribe", id: 1, topics: [topic], from: "earliest" });
  const messages = () => received.filter((m): m is Extract<ClientInbound, { type: "message" }> => m.type === "message");
  try {
    const answer = await waitFor(
      `the subscription to ${topic} on ${address}`,
      () => received.find((m) => m.type === "subscribed" || (m.type === "error" && m.id === 1)),
      { timeoutMs, intervalMs: ANSWER_POLL_MS },
    );
    // a broker still catching up with the leader's commit refuses for now: say so at once, the caller may ask again
    if (answer.type !== "subscribed") throw new Error(`subscribe refused: ${JSON.stringify(answer)}`);
    const end = new Map(answer.ends).get(topic) ?? 0;
    await waitFor(
      `${topic} up to offset ${end} from ${address}`,
      () => ((messages().at(-1)?.offset ?? -1) + 1 >= end ? true : undefined),
      { timeoutMs, intervalMs: ANSWER_POLL_MS },
    );
  } finally {
    connection.close();
  }
  return messages().map((m) => ({ offset: m.offset, value: decoder.decode(m.data) }));
}
