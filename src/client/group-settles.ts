import { MqraftError } from "../util/errors.ts";

export type SettleKind = "ack" | "nak" | "progress";

/** Settles at most in one request (the broker's limit per group-ack). */
const MAX_PER_REQUEST = 1000;

interface Waiting {
  offset: number;
  attempt: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * A member's settles of one turn, sent as one `group-ack` per kind: a consumer that acks each message would otherwise
 * cost a request and an answer per message. Each settle resolves once the broker answered for its batch: settled,
 * or refused (REFUSED) when the member did not hold that delivery any more.
 */
export class GroupSettles {
  private readonly batches = new Map<SettleKind, Waiting[]>();
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
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    const batch = this.batches.get(kind) ?? [];
    this.batches.set(kind, batch);
    batch.push({ offset, attempt, resolve, reject });
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
    for (const [kind, batch] of this.batches) {
      for (let i = 0; i < batch.length; i += MAX_PER_REQUEST) this.sendOne(kind, batch.slice(i, i + MAX_PER_REQUEST));
    }
    this.batches.clear();
  }

  private sendOne(kind: SettleKind, batch: Waiting[]): void {
    const sent = this.send(
      kind,
      batch.map((w) => w.offset),
      batch.map((w) => w.attempt),
    );
    this.sending.add(sent);
    sent.finally(() => this.sending.delete(sent)).catch(() => {});
    sent.then(
      (refused) => {
        const no = new Set(refused);
        for (const w of batch) {
          this.answered(kind, w.offset, w.attempt);
          if (!no.has(w.offset)) w.resolve();
          else
            w.reject(
              new MqraftError(
                "REFUSED",
                `delivery ${w.attempt} of offset ${w.offset} is no longer this member's: its ack wait passed and it went to another member, or it was settled already`,
              ),
            );
        }
      },
      (e: unknown) => {
        for (const w of batch) {
          this.answered(kind, w.offset, w.attempt);
          w.reject(e);
        }
      },
    );
  }
}
