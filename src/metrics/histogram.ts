/**
 * A Prometheus histogram kept as plain numbers: observing is a bucket search over a dozen bounds
 * and three additions, cheap enough for the publish path (prom-client's observe() took ~0.5 µs
 * under Bun on the development machine). `observe(v, n)` counts n observations of one value at
 * once, which is how a publish batch records the same ack latency for all its messages.
 */
export class Histogram {
  /** Per bucket, observations <= that bound (not cumulative; exposition sums them). */
  readonly counts: Float64Array;
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[]) {
    for (let i = 1; i < bounds.length; i++) {
      if (!((bounds[i] as number) > (bounds[i - 1] as number))) throw new Error("histogram bounds must increase");
    }
    this.counts = new Float64Array(bounds.length + 1);
  }

  observe(value: number, n = 1): void {
    const { bounds } = this;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    (this.counts as Float64Array)[i] = (this.counts[i] as number) + n;
    this.sum += value * n;
    this.count += n;
  }

  /** The value below which fraction q of the observations fall (the upper bound of that bucket); 0 when empty. */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = q * this.count;
    let seen = 0;
    for (let i = 0; i < this.bounds.length; i++) {
      seen += this.counts[i] as number;
      if (seen >= rank) return this.bounds[i] as number;
    }
    return Number.POSITIVE_INFINITY;
  }
}

/** Seconds, for latencies from a fraction of a millisecond (fsync on a cached disk) to seconds (a stalled cluster). */
export const SECONDS_BUCKETS = [
  0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
] as const;

/** Entries per append: one for an idle cluster, thousands for a pipelined publisher. */
export const COUNT_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096] as const;
