import type { MessageHeaders } from "../util/message-headers.ts";

export interface ReceivedMessage {
  topic: string;
  offset: number;
  data: Uint8Array;
  /** When the leader proposed the message, in ms since the epoch (undefined from a broker that does not say). */
  time: number | undefined;
  /** The message's headers (read-only; empty when it has none). */
  headers: MessageHeaders;
}

/**
 * Messages received and not yet taken by the consumer, in arrival order (a subscription's, or a group member's).
 * `full` tells a subscription to stop reading from the socket, `low` when to read again: the buffer stays bounded
 * however slow the consumer is, and TCP flow control holds the rest back at the broker. (A group member's is bounded
 * by the group instead: maxPending a member.)
 */
export class MessageBuffer<M extends ReceivedMessage = ReceivedMessage> {
  /** Taken slots are cleared so that the consumer's messages can be collected before the array is compacted. */
  private items: (M | undefined)[] = [];
  private head = 0;
  private bytes = 0;

  constructor(
    private readonly maxMessages: number,
    private readonly maxBytes: number,
  ) {}

  get count(): number {
    return this.items.length - this.head;
  }

  get full(): boolean {
    return this.count >= this.maxMessages || this.bytes >= this.maxBytes;
  }

  get low(): boolean {
    return this.count <= this.maxMessages / 4 && this.bytes <= this.maxBytes / 4;
  }

  push(message: M): void {
    this.items.push(message);
    this.bytes += message.data.length;
  }

  shift(): M | undefined {
    const message = this.items[this.head];
    if (message === undefined) return undefined;
    this.items[this.head] = undefined;
    this.head++;
    this.bytes -= message.data.length;
    this.compact();
    return message;
  }

  /** The next `max` messages at most, in one copy of the list (a batch: one slice instead of a shift each). */
  take(max: number): M[] {
    const to = Math.min(this.head + max, this.items.length);
    const taken = this.items.slice(this.head, to) as M[];
    for (const message of taken) this.bytes -= message.data.length;
    this.items.fill(undefined, this.head, to);
    this.head = to;
    this.compact();
    return taken;
  }

  /** A shift per message would move the whole array: taken slots are dropped once they are half of it. */
  private compact(): void {
    if (this.head === this.items.length) {
      this.items = [];
      this.head = 0;
    } else if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
  }

  clear(): void {
    this.items = [];
    this.head = 0;
    this.bytes = 0;
  }
}
