import { decodeEntryMessages, publishMessagesOf } from "../broker/command-codec.ts";
import type { PublishMessage } from "../broker/commands.ts";
import type { EntryReader } from "./subscription-feed.ts";

/**
 * Entries kept decoded at most: a pump of every member goes over the entries published since the last one (those
 * applied in one turn, which under load are more than a few).
 */
const KEPT = 16;
const NONE: readonly (PublishMessage | undefined)[] = [];

/**
 * The messages of recent publish entries, decoded once for every group member this broker serves: the members of a
 * group take turns through the same entries, and each decoding an entry of 1,000 messages for its third of them
 * tripled the leader's decode work. A committed entry never changes, so nothing goes stale; payloads are views into
 * the entry, so at most KEPT entries are held.
 */
export class EntryMessagesCache {
  private readonly kept = new Map<number, readonly (PublishMessage | undefined)[]>();

  constructor(private readonly read: EntryReader) {}

  messages(index: number): readonly (PublishMessage | undefined)[] {
    const known = this.kept.get(index);
    if (known !== undefined) return known;
    const data = this.read(index);
    const messages = data === undefined ? NONE : decodeEntryMessages(data);
    this.keep(index, messages);
    return messages;
  }

  /**
   * The entry at `index` was just applied, its messages decoded by the apply (checked wire tuples, by slot): kept
   * as they are, so that the members' pushes need not decode the entry again (that was ~7 % of a leader's CPU).
   */
  applied(index: number, messages: readonly unknown[]): void {
    this.keep(index, publishMessagesOf(messages, true));
  }

  private keep(index: number, messages: readonly (PublishMessage | undefined)[]): void {
    if (this.kept.has(index)) return;
    if (this.kept.size >= KEPT) this.kept.delete(this.kept.keys().next().value as number);
    this.kept.set(index, messages);
  }
}
