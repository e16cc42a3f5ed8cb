import { MqraftError } from "../util/errors.ts";

export type SettleKind = "ack" | "nak" | "progress";

/** Settles at most in one request (the broker's limit per group-ack). */
export const MAX_PER_REQUEST = 1000;

/**
 * Settles waiting for one answer: the offsets from the previous claim's `end` to its own, with the promise of the
 * settle (one message) or of the batch (ConsumedBatch, several) that made them.
 */
interface Claim {
  end: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** The settles of one kind made in one turn, in columns: a consumer that acks every message adds one per message. */
class Batch {
  readonly offsets: number[] = [];
  readonly attempts: number[] = [];
  readonly claims: Claim[] = [];
}

/**
 * A member's settles of one turn, sent as one `group-ack` per kind (and per MAX_PER_REQUEST): a consumer that acks
 * each message would otherwise cost a request and an answer per message. Each settle resolves once the broker
 * answered for its request: settled, or refused (REFUSED) when the member did not hold that delivery any more. A
 * batch's settle is one claim over its messages, so it costs one promise, not one a message.
 */
export class GroupSettles {
  /** The batch of each kind this turn still adds to. */
  private readonly open = new Map<SettleKind, Batch>();
  /** Full or closed batches of this turn, in the order their first settle was made, sent at the flush. */
  private readonly ready: [SettleKind, Batch][] = [];
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
    const batch = this.batchFor(kind, 1);
    batch.offsets.push(offset);
    batch.attempts.push(attempt);
    return this.claim(batch);
  }

  /** Settles several deliveries (at most MAX_PER_REQUEST) as one: the promise resolves once all of them are settled. */
  addMany(kind: SettleKind, offsets: readonly number[], attempts: readonly number[]): Promise<void> {
    if (offsets.length > MAX_PER_REQUEST || offsets.length !== attempts.length)
      throw new Error(`addMany: ${offsets.length} offsets, ${attempts.length} attempts`);
    if (offsets.length === 0) return Promise.resolve();
    const batch = this.batchFor(kind, offsets.length);
    for (let i = 0; i < offsets.length; i++) {
      batch.offsets.push(offsets[i] as number);
      batch.attempts.push(attempts[i] as number);
    }
    return this.claim(batch);
  }

  /** Sends what is waiting now and resolves once every settle made so far is answered (before leaving the group). */
  async drain(): Promise<void> {
    this.flush();
    while (this.sending.size > 0) await Promise.allSettled([...this.sending]);
  }

  /** The open batch of `kind` with room for `n` more; a full one is closed and a new one started. */
  private batchFor(kind: SettleKind, n: number): Batch {
    let batch = this.open.get(kind);
    if (batch !== undefined && batch.offsets.length + n > MAX_PER_REQUEST) batch = undefined;
    if (batch === undefined) {
      batch = new Batch();
      this.open.set(kind, batch);
      this.ready.push([kind, batch]);
    }
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return batch;
  }

  private claim(batch: Batch): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    batch.claims.push({ end: batch.offsets.length, resolve, reject });
    return promise;
  }

  private flush(): void {
    this.scheduled = false;
    // in the order the batches were started this turn, as the member settled them
    for (const [kind, batch] of this.ready) this.sendOne(kind, batch);
    this.ready.length = 0;
    this.open.clear();
  }

  private sendOne(kind: SettleKind, batch: Batch): void {
    const { offsets, attempts, claims } = batch;
    const sent = this.send(kind, offsets, attempts);
    this.sending.add(sent);
    sent.finally(() => this.sending.delete(sent)).catch(() => {});
    sent.then(
      (refused) => {
        const no = refused.length === 0 ? undefined : new Set(refused);
        let from = 0;
        for (const claim of claims) {
          let first: number | undefined;
          let count = 0;
          for (let i = from; i < claim.end; i++) {
            const offset = offsets[i] as number;
            this.answered(kind, offset, attempts[i] as number);
            if (no?.has(offset)) {
              first ??= i;
              count++;
            }
          }
          if (first === undefined) claim.resolve();
          else claim.reject(refusedError(offsets[first] as number, attempts[first] as number, count));
          from = claim.end;
        }
      },
      (e: unknown) => {
        for (let i = 0; i < offsets.length; i++) this.answered(kind, offsets[i] as number, attempts[i] as number);
        for (const claim of claims) claim.reject(e);
      },
    );
  }
}

function refusedError(offset: number, attempt: number, count: number): MqraftError {
  const others = count > 1 ? ` (and ${count - 1} more of the batch)` : "";
  return new MqraftError(
    "REFUSED",
    `delivery ${attempt} of offset ${offset}${others} is no longer this member's: its ack wait passed and it went to another member, or it was settled already`,
  );
}

/**
 * The settles as `[first, count, attempt]` triples of consecutive offsets, when that is shorter than listing them (a
 * member given runs acks each run as one triple); undefined when it is not.
 */
export function asRanges(offsets: readonly number[], attempts: readonly number[]): number[] | undefined {
  const ranges: number[] = [];
  for (let i = 0; i < offsets.length; ) {
    const first = offsets[i] as number;
    const attempt = attempts[i] as number;
    let count = 1;
    while (i + count < offsets.length && offsets[i + count] === first + count && attempts[i + count] === attempt)
      count++;
    ranges.push(first, count, attempt);
    // longer than the lists already: a member that settles scattered offsets
    if (ranges.length >= 2 * offsets.length) return undefined;
    i += count;
  }
  return ranges.length === 0 ? undefined : ranges;
}
