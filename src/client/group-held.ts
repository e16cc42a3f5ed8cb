/** What a group member holds: each message it was handed, and a batch of them fetched together (group-stream.ts). */

import type { MessageHeaders } from "../util/message-headers.ts";
import type { HandedRun } from "./group-in-hand.ts";
import type { SettleKind as Kind } from "./group-settles.ts";
import type { ConsumedBatch, ConsumedMessage } from "./group-stream.ts";

/** A message as the member holds it; one object with shared methods, as there is one per message. */
export class Held implements ConsumedMessage {
  constructor(
    readonly topic: string,
    readonly offset: number,
    /** What the group calls the message: its offset, or in a group on a pattern a number of the group's. */
    readonly key: number,
    readonly attempt: number,
    readonly data: Uint8Array,
    readonly time: number | undefined,
    readonly headers: MessageHeaders,
    /** The run it was handed in (a message pushed alone is a run of one), which says whether it is still held. */
    readonly run: HandedRun,
    private readonly settle: (kind: Kind, message: Held) => Promise<void>,
  ) {}

  ack(): Promise<void> {
    return this.settle("ack", this);
  }

  nak(): Promise<void> {
    return this.settle("nak", this);
  }

  inProgress(): Promise<void> {
    return this.settle("progress", this);
  }
}

/** Messages fetched together; its settles are one claim over all of them (group-settles.ts). */
export class Batch implements ConsumedBatch {
  constructor(
    readonly messages: readonly Held[],
    private readonly settle: (kind: Kind, messages: readonly Held[]) => Promise<void>,
  ) {}

  ack(): Promise<void> {
    return this.settle("ack", this.messages);
  }

  nak(): Promise<void> {
    return this.settle("nak", this.messages);
  }

  inProgress(): Promise<void> {
    return this.settle("progress", this.messages);
  }
}
