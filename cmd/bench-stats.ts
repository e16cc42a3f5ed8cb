import * as v from "valibot";

/** The `--json` line of `mqraft bench`: one object, its only line on stdout. */
export const BenchResultSchema = v.object({
  msgs: v.number(),
  seconds: v.number(),
  msgsPerSec: v.number(),
  MBps: v.number(),
  p50ms: v.number(),
  p90ms: v.number(),
  p99ms: v.number(),
  maxms: v.number(),
});
export type BenchResult = v.InferOutput<typeof BenchResultSchema>;

/** Latencies in a preallocated array: recording one is a store, not an allocation, on the hot path. */
export class LatencyRecorder {
  private readonly samples: Float64Array;
  private n = 0;

  constructor(capacity: number) {
    this.samples = new Float64Array(capacity);
  }

  get count(): number {
    return this.n;
  }

  record(ms: number): void {
    if (this.n < this.samples.length) this.samples[this.n++] = ms;
  }

  /** Sorted copy of what was recorded. */
  sorted(): Float64Array {
    return this.samples.slice(0, this.n).sort();
  }
}

/** Nearest-rank percentile of sorted samples; 0 for none. */
export function percentile(sorted: Float64Array, q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil(q * sorted.length));
  return sorted[Math.min(sorted.length, rank) - 1] ?? 0;
}

const round = (x: number, digits: number): number => Number(x.toFixed(digits));

export function summarize(msgs: number, size: number, seconds: number, latencies: LatencyRecorder): BenchResult {
  const sorted = latencies.sorted();
  const perSec = seconds > 0 ? msgs / seconds : 0;
  return {
    msgs,
    seconds: round(seconds, 3),
    msgsPerSec: round(perSec, 0),
    MBps: round((perSec * size) / 1e6, 2),
    p50ms: round(percentile(sorted, 0.5), 3),
    p90ms: round(percentile(sorted, 0.9), 3),
    p99ms: round(percentile(sorted, 0.99), 3),
    maxms: round(sorted[sorted.length - 1] ?? 0, 3),
  };
}

export function resultLines(result: BenchResult, json: boolean): string[] {
  const text = [
    `${result.msgs} msgs in ${result.seconds} s: ${result.msgsPerSec} msgs/s, ${result.MBps} MB/s`,
    `latency ms: p50 ${result.p50ms}, p90 ${result.p90ms}, p99 ${result.p99ms}, max ${result.maxms}`,
  ];
  return json ? [JSON.stringify(result)] : text;
}

/** Wall-clock milliseconds with sub-millisecond precision, comparable between processes on one machine. */
export const wallMs = (): number => performance.timeOrigin + performance.now();
