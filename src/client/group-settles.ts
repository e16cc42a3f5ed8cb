import { MqraftError } from "../util/errors.ts";

export type SettleKind = "ack" | "nak" | "progress";

/** Settles at most in one request (the broker's limit per group-ack). */
const MAX_PER_REQUEST = 1000;

/** The settles of one kind made in one turn, in columns: a consumer that acks every message adds one per message. */
class Batch {
  readonly offsets: number[] = [];
  readonly attempts: number[] = [];
  readonly resolves: (() => void)[] = [];
  readonly rejects: ((e: unknown) => void)[] = [];

  slice(from: number, to: number): Batch {
    const part = new Batch();
    part.offsets.push(...this.offsets.slice(from, to));
    part.attempts.push(...this.attempts.slice(from, to));
    part.resolves.push(...this.resolves.slice(from, to));
    part.rejects.push(...this.rejects.slice(from, to));
    return part;
  }
}

/**
 * A member's settles of one turn, sent as one `group-ack` per kind: a consumer that acks each message would otherwise
 * cost a request and an answer per message. Each settle resolves once the broker answered for its batch: settled,
 * or refused (REFUSED) when the member did not hold that delivery any more.
 */
export class GroupSettles {
  private readonly batches = new Map<SettleKind, Batch>();
  private scheduled = false;
  /** Batches sent and not answered yet. */
  private readonly sending = new Set<Promise<unknown>>();

  constructor(
    /** Sends one batch (retrying as it sees fit); resolves with the offsets the broker refused. */
    private readonly send: (kind: SettleKind, offsets: number[], attempts: number[]) => Promise<number[]>,
    /** Called for each settle answered (settled or refused), before its promise settles. */
    private readonly answered: (kind: SettleKind, offset: number, attempt: number) => void,
  ) {}

  add(kind: SettleKind, offset: number, attempt: number): Promise<void> {
    let batch = this.batches.get(kind);
    if (batch === undefined) {
      batch = new Batch();
      this.batches.set(kind, batch);
    }
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    batch.offsets.push(offset);
    batch.attempts.push(attempt);
    batch.resolves.push(resolve);
    batch.rejects.push(reject);
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return promise;
  }

  /** Sends what is waiting now and resolves once every settle made so far is answered (before leaving the group). */
  async drain(): Promise<void> {
    this.flush();
    while (this.sending.size > 0) await Promise.allSettled([...this.sending]);
  }

  private flush(): void {
    this.scheduled = false;
    // in the order the kinds were first used this turn, as the member settled them
    for (const [kind, batch] of this.batches) {
      if (batch.offsets.length <= MAX_PER_REQUEST) this.sendOne(kind, batch);
      else
        for (let i = 0; i < batch.offsets.length; i += MAX_PER_REQUEST)
          this.sendOne(kind, batch.slice(i, i + MAX_PER_REQUEST));
    }
    this.batches.clear();
  }

  private sendOne(kind: SettleKind, batch: Batch): void {
    const { offsets, attempts, resolves, rejects } = batch;
    const sent = this.send(kind, offsets, attempts);
    this.sending.add(sent);
    sent.finally(() => this.sending.delete(sent)).catch(() => {});
    sent.then(
      (refused) => {
        const no = refused.length === 0 ? undefined : new Set(refused);
        for (let i = 0; i < offsets.length; i++) {
          const offset = offsets[i] as number;
          const attempt = attempts[i] as number;
          this.answered(kind, offset, attempt);
          if (no === undefined || !no.has(offset)) (resolves[i] as () => void)();
          else
            (rejects[i] as (e: unknown) => void)(
              new MqraftError(
                "REFUSED",
                `delivery ${attempt} of offset ${offset} is no longer this member's: its ack wait passed and it went to another member, or it was settled already`,
              ),
            );
        }
      },
      (e: unknown) => {
        for (let i = 0; i < offsets.length; i++) {
          this.answered(kind, offsets[i] as number, attempts[i] as number);
          (rejects[i] as (e: unknown) => void)(e);
        }
      },
    );
  }
}
