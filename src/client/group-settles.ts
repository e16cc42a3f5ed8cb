import { MqraftError } from "../util/errors.ts";

export type SettleKind = "ack" | "nak" | "progress";

/** Settles at most in one request (the broker's limit per group-ack). */
export const MAX_PER_REQUEST = 1000;

/** What is settled: a delivery, by the key the group knows it by and its attempt. */
export interface Delivery {
  readonly key: number;
  readonly attempt: number;
}

/**
 * Settles waiting for one answer: the deliveries from the previous claim's `end` to its own, with the promise of the
 * settle (one message) or of the batch (ConsumedBatch, several) that made them.
 */
interface Claim {
  end: number;
  resolve: () => void;
  reject: (e: unknown) => void;
}

/** The settles of one kind made in one turn: a consumer that acks every message adds one per message. */
class Batch<D extends Delivery> {
  deliveries: D[] = [];
  readonly claims: Claim[] = [];
}

/**
 * A member's settles of one turn, sent as one `group-ack` per kind (and per MAX_PER_REQUEST): a consumer that acks
 * each message would otherwise cost a request and an answer per message. Each settle resolves once the broker
 * answered for its request: settled, or refused (REFUSED) when the member did not hold that delivery any more. A
 * batch's settle is one claim over its messages, so it costs one promise, not one a message.
 */
export class GroupSettles<D extends Delivery> {
  /** The batch of each kind this turn still adds to. */
  private readonly open = new Map<SettleKind, Batch<D>>();
  /** Full or closed batches of this turn, in the order their first settle was made, sent at the flush. */
  private readonly ready: [SettleKind, Batch<D>][] = [];
  private scheduled = false;
  /** Batches sent and not answered yet. */
  private readonly sending = new Set<Promise<unknown>>();

  constructor(
    /** Sends one batch (retrying as it sees fit); resolves with the keys the broker refused. */
    private readonly send: (kind: SettleKind, deliveries: readonly D[]) => Promise<number[]>,
    /** Called with the settles of each request once answered (settled or refused), before their promises settle. */
    private readonly answered: (kind: SettleKind, deliveries: readonly D[]) => void,
  ) {}

  add(kind: SettleKind, delivery: D): Promise<void> {
    const batch = this.batchFor(kind, 1);
    batch.deliveries.push(delivery);
    return this.claim(batch);
  }

  /** Settles several deliveries (at most MAX_PER_REQUEST) as one: the promise resolves once all of them are settled. */
  addMany(kind: SettleKind, deliveries: readonly D[]): Promise<void> {
    if (deliveries.length > MAX_PER_REQUEST) throw new Error(`addMany: ${deliveries.length} deliveries`);
    if (deliveries.length === 0) return Promise.resolve();
    const batch = this.batchFor(kind, deliveries.length);
    // a member that settles a batch a turn starts the request with it: one copy of the list, not a push per message
    if (batch.deliveries.length === 0) batch.deliveries = deliveries.slice();
    else for (let i = 0; i < deliveries.length; i++) batch.deliveries.push(deliveries[i] as D);
    return this.claim(batch);
  }

  /** Sends what is waiting now and resolves once every settle made so far is answered (before leaving the group). */
  async drain(): Promise<void> {
    this.flush();
    while (this.sending.size > 0) await Promise.allSettled([...this.sending]);
  }

  /** The open batch of `kind` with room for `n` more; a full one is closed and a new one started. */
  private batchFor(kind: SettleKind, n: number): Batch<D> {
    let batch = this.open.get(kind);
    if (batch !== undefined && batch.deliveries.length + n > MAX_PER_REQUEST) batch = undefined;
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

  private claim(batch: Batch<D>): Promise<void> {
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    batch.claims.push({ end: batch.deliveries.length, resolve, reject });
    return promise;
  }

  private flush(): void {
    this.scheduled = false;
    // in the order the batches were started this turn, as the member settled them
    for (const [kind, batch] of this.ready) this.sendOne(kind, batch);
    this.ready.length = 0;
    this.open.clear();
  }

  private sendOne(kind: SettleKind, batch: Batch<D>): void {
    const { deliveries, claims } = batch;
    const sent = this.send(kind, deliveries);
    this.sending.add(sent);
    sent.finally(() => this.sending.delete(sent)).catch(() => {});
    sent.then(
      (refused) => {
        this.answered(kind, deliveries);
        if (refused.length === 0) {
          for (const claim of claims) claim.resolve();
          return;
        }
        const no = new Set(refused);
        let from = 0;
        for (const claim of claims) {
          let first: D | undefined;
          let count = 0;
          for (let i = from; i < claim.end; i++) {
            const delivery = deliveries[i] as D;
            if (no.has(delivery.key)) {
              first ??= delivery;
              count++;
            }
          }
          if (first === undefined) claim.resolve();
          else claim.reject(refusedError(first, count));
          from = claim.end;
        }
      },
      (e: unknown) => {
        this.answered(kind, deliveries);
        for (const claim of claims) claim.reject(e);
      },
    );
  }
}

function refusedError(first: Delivery, count: number): MqraftError {
  const others = count > 1 ? ` (and ${count - 1} more of the batch)` : "";
  return new MqraftError(
    "REFUSED",
    `delivery ${first.attempt} of offset ${first.key}${others} is no longer this member's: its ack wait passed and it went to another member, or it was settled already`,
  );
}

/**
 * The settles as `[first, count, attempt]` triples of consecutive keys, when that is shorter than listing them (a
 * member given runs acks each run as one triple); undefined when it is not.
 */
export function rangesOf(deliveries: readonly Delivery[]): number[] | undefined {
  const ranges: number[] = [];
  for (let i = 0; i < deliveries.length; ) {
    const { key: first, attempt } = deliveries[i] as Delivery;
    let count = 1;
    for (let next = deliveries[i + count]; next?.key === first + count && next.attempt === attempt; ) {
      count++;
      next = deliveries[i + count];
    }
    ranges.push(first, count, attempt);
    // longer than the lists already: a member that settles scattered keys
    if (ranges.length >= 2 * deliveries.length) return undefined;
    i += count;
  }
  return ranges.length === 0 ? undefined : ranges;
}

/** rangesOf for settles given as lists of offsets and attempts. */
export function asRanges(offsets: readonly number[], attempts: readonly number[]): number[] | undefined {
  return rangesOf(offsets.map((key, i) => ({ key, attempt: attempts[i] as number })));
}
