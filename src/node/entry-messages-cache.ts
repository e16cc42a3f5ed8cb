import { decodeEntryWireMessages, type WireMessage, wireMessagesOf } from "../broker/command-codec.ts";
import type { EntryReader } from "./subscription-feed.ts";

/**
 * Entries kept decoded at most: a pump of every member goes over the entries published since the last one (those
 * applied in one turn, which under load are more than a few).
 */
const KEPT = 64;
/**
 * Bytes of payload kept at most (the newest entry is kept whatever its size): payloads are views into their entries,
 * so each kept entry pins its whole buffer, and an entry holds up to a batch of 1 MiB or one message of up to the
 * frame limit (16 MiB): sixteen of those would pin 256 MiB.
 */
const KEPT_BYTES = 8 << 20;
const NONE: readonly (WireMessage | undefined)[] = [];

/**
 * The messages of recent publish entries, decoded once for every group member this broker serves: the members of a
 * group take turns through the same entries, and each decoding an entry of 1,000 messages for its third of them
 * tripled the leader's decode work. They are kept as the wire tuples the apply checked ([topic, data, ...],
 * command-codec.ts), not as a PublishMessage each: the pushes read only the payload and headers. A committed entry
 * never changes, so nothing goes stale; payloads are views into the entry, so at most KEPT entries and KEPT_BYTES of
 * their payloads are held (docs/memory.md).
 */
export class EntryMessagesCache {
  private readonly kept = new Map<number, { messages: readonly (WireMessage | undefined)[]; bytes: number }>();
  private keptBytes = 0;

  constructor(private readonly read: EntryReader) {}

  messages(index: number): readonly (WireMessage | undefined)[] {
    const known = this.kept.get(index);
    if (known !== undefined) return known.messages;
    const data = this.read(index);
    const messages = data === undefined ? NONE : decodeEntryWireMessages(data);
    this.keep(index, messages);
    return messages;
  }

  /**
   * The entry at `index` was just applied, its messages decoded by the apply (checked wire tuples, by slot): kept
   * as they are (no copy), so that the members' pushes need not decode the entry again (that was ~7 % of a leader's
   * CPU).
   */
  applied(index: number, messages: readonly unknown[]): void {
    this.keep(index, wireMessagesOf(messages, true));
  }

  /** Entries kept, and the bytes of their payloads. */
  get size(): { entries: number; bytes: number } {
    return { entries: this.kept.size, bytes: this.keptBytes };
  }

  private keep(index: number, messages: readonly (WireMessage | undefined)[]): void {
    if (this.kept.has(index)) return;
    const bytes = payloadBytes(messages);
    this.kept.set(index, { messages, bytes });
    this.keptBytes += bytes;
    // oldest first (a Map iterates in insertion order); the entry just kept stays
    while (this.kept.size > 1 && (this.kept.size > KEPT || this.keptBytes > KEPT_BYTES)) this.dropOldest();
  }

  private dropOldest(): void {
    const oldest = this.kept.keys().next().value as number;
    this.keptBytes -= (this.kept.get(oldest) as { bytes: number }).bytes;
    this.kept.delete(oldest);
  }
}

/**
 * The bytes of the payloads of an entry's messages. An indexed loop, alone in its function: this runs once an entry
 * over up to a thousand messages, so the JIT compiles it, and a for-of loop and the eviction beside it made that
 * several times the bytecode.
 */
function payloadBytes(messages: readonly (WireMessage | undefined)[]): number {
  let bytes = 0;
  for (let i = 0; i < messages.length; i++) {
    const m = messages[i];
    if (m !== undefined) bytes += m[1].length;
  }
  return bytes;
}
