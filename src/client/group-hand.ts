import { MqraftError } from "../util/errors.ts";
import { MessageHeaders } from "../util/message-headers.ts";
import type { GroupMessage, GroupMessageItem, GroupMessages, GroupRun } from "../wire/index.ts";
import { Held } from "./group-held.ts";
import { InHand } from "./group-in-hand.ts";
import { GroupSettles, type SettleKind as Kind } from "./group-settles.ts";
import { MessageBuffer } from "./message-buffer.ts";

/**
 * What a group member holds (group-stream.ts): the messages pushed to it, each queued once however often a new
 * leader sends it again, and its settles, each refused here when the member no longer holds that delivery.
 */
export class GroupHand {
  /** Every delivery handed to this member and not settled yet, by key (the offset, in a group on one topic). */
  private readonly inHand = new InHand();
  private readonly settles: GroupSettles<Held>;
  /** The messages new to the member, in the order pushed (bounded by the group: maxPending a member). */
  private readonly queue = new MessageBuffer<Held>(Infinity, Infinity);

  constructor(
    /** Sends one request of settles (retrying as it sees fit); resolves with the keys the broker refused. */
    send: (kind: Kind, messages: readonly Held[]) => Promise<number[]>,
  ) {
    this.settles = new GroupSettles<Held>(send, (kind, messages) => {
      if (kind !== "progress") this.inHand.release(messages);
    });
  }

  /** Deliveries held and not settled. */
  get holding(): number {
    return this.inHand.size;
  }

  /** Messages waiting to be taken. */
  get waiting(): number {
    return this.queue.count;
  }

  /** The next message waiting, if any. */
  shift(): Held | undefined {
    return this.queue.shift();
  }

  /** The next `max` messages waiting at most, in one copy of the list. */
  take(max: number): Held[] {
    return this.queue.take(max);
  }

  /** Queues the messages of a push but those the member has already (a new leader sends again what it holds). */
  hold(push: GroupMessage | GroupMessages | GroupRun): void {
    if (push.type === "group-message") this.holdOne(push);
    else if (push.type === "group-messages") for (const item of push.messages) this.holdOne(item);
    else this.holdRun(push);
  }

  /** Resolves once every settle made so far is answered. */
  drain(): Promise<void> {
    return this.settles.drain();
  }

  private holdOne(m: GroupMessageItem): void {
    const key = m.key ?? m.offset;
    const run = this.inHand.add(key, 1, m.attempt);
    if (run.left === 0) return;
    const headers = MessageHeaders.of(m.headers);
    this.queue.push(new Held(m.topic, m.offset, key, m.attempt, m.data, m.time, headers, run, this.settleOne));
  }

  /** A run: a group on one topic, whose keys are the offsets. */
  private holdRun(push: GroupRun): void {
    const { topic, offset, attempt, messages } = push;
    const run = this.inHand.add(offset, messages.length, attempt);
    const all = run.left === messages.length;
    for (let i = 0; i < messages.length; i++) {
      if (!all && run.live[i] !== 1) continue;
      const m = messages[i] as GroupRun["messages"][number];
      const headers = MessageHeaders.of(m.headers);
      this.queue.push(new Held(topic, offset + i, offset + i, attempt, m.data, m.time, headers, run, this.settleOne));
    }
  }

  readonly settleOne = (kind: Kind, m: Held): Promise<void> => {
    if (this.inHand.holder(m.run, m.key, m.attempt) === undefined)
      return Promise.reject(
        new MqraftError("REFUSED", `offset ${m.offset} (delivery ${m.attempt}) was settled already`),
      );
    return this.settles.add(kind, m);
  };

  /** A batch's settle: one claim over the messages of it still held; refused after them if any was not. */
  readonly settleMany = (kind: Kind, messages: readonly Held[]): Promise<void> => {
    let held: readonly Held[] = messages;
    let notHeld: Held | undefined;
    for (let i = 0; i < messages.length; i++) {
      const m = messages[i] as Held;
      if (m.run.holds(m.key)) continue;
      // the usual batch is all held in the runs it came in, and goes as it is
      const kept = messages.slice(0, i);
      for (let j = i; j < messages.length; j++) {
        const h = messages[j] as Held;
        if (this.inHand.holder(h.run, h.key, h.attempt) !== undefined) kept.push(h);
        else notHeld ??= h;
      }
      held = kept;
      break;
    }
    const settled = this.settles.addMany(kind, held);
    if (notHeld === undefined) return settled;
    const refused = new MqraftError(
      "REFUSED",
      `offset ${notHeld.offset} (delivery ${notHeld.attempt}) of the batch was settled already`,
    );
    return settled.then(() => Promise.reject(refused));
  };
}
