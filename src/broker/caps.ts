import { type ErrorResult, refusal } from "./results.ts";

/**
 * Caps on what the state machine keeps per name, by count and bytes (docs/memory.md, "Caps"): every topic and every
 * durable subscription costs memory on every broker for as long as it exists, and a client could otherwise create
 * them without end. They are constants, not flags, because the state machine checks them: every replica must refuse
 * the same commands (a change of a cap is a change of the replicated behaviour, like a new command).
 */
export const MAX_TOPICS = 100_000;
/** The UTF-8 bytes of all topic names together. */
export const MAX_TOPIC_NAME_BYTES = 8 * 1024 * 1024;
export const MAX_DURABLES = 10_000;
/** A durable subscription's bytes: its name and its topics' names, and 8 bytes per topic for the position. */
export const MAX_DURABLE_BYTES = 8 * 1024 * 1024;

const encoder = new TextEncoder();

export function utf8Bytes(s: string): number {
  // ASCII, the common case, without encoding
  let ascii = true;
  for (let i = 0; i < s.length && ascii; i++) ascii = s.charCodeAt(i) < 0x80;
  return ascii ? s.length : encoder.encode(s).length;
}

/** Counts and bytes of what the caps bound; kept by the state machine as it creates and removes. */
export class CapUsage {
  count = 0;
  bytes = 0;

  add(bytes: number): void {
    this.count++;
    this.bytes += bytes;
  }

  remove(bytes: number): void {
    this.count--;
    this.bytes -= bytes;
  }
}

/** The refusal of a new topic `name` when it would pass a cap; undefined when it fits. */
export function newTopicRefusal(usage: CapUsage, name: string, bytes: number): ErrorResult | undefined {
  if (usage.count + 1 > MAX_TOPICS)
    return refusal(
      "REFUSED",
      `cannot create topic ${JSON.stringify(name)}: the cluster holds ${usage.count} topics, its limit (topics are never removed; publish to an existing topic)`,
    );
  if (usage.bytes + bytes > MAX_TOPIC_NAME_BYTES)
    return refusal(
      "REFUSED",
      `cannot create topic ${JSON.stringify(name)}: the names of the cluster's ${usage.count} topics take ${usage.bytes} bytes, and this one would pass the limit of ${MAX_TOPIC_NAME_BYTES}`,
    );
  return undefined;
}

/** The refusal of a new durable subscription when it would pass a cap; undefined when it fits. */
export function newDurableRefusal(usage: CapUsage, name: string, bytes: number): ErrorResult | undefined {
  if (usage.count + 1 > MAX_DURABLES)
    return refusal(
      "REFUSED",
      `cannot create durable subscription ${JSON.stringify(name)}: the cluster holds ${usage.count}, its limit; remove unused ones (mqraft durable rm)`,
    );
  if (usage.bytes + bytes > MAX_DURABLE_BYTES)
    return refusal(
      "REFUSED",
      `cannot create durable subscription ${JSON.stringify(name)} (${bytes} bytes): the cluster's ${usage.count} durable subscriptions take ${usage.bytes} bytes, and this one would pass the limit of ${MAX_DURABLE_BYTES}; remove unused ones (mqraft durable rm)`,
    );
  return undefined;
}
