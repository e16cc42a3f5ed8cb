import { COUNT_BUCKETS, Histogram, SECONDS_BUCKETS } from "./histogram.ts";

/** What the log store measures as it works (LogStore owns one; /metrics reads it). */
export class StoreMetrics {
  /** One group-commit flush: fdatasync of the newest segment, the hard state and the folder. */
  readonly fsyncSeconds = new Histogram(SECONDS_BUCKETS);
  /** Entries per append call (one per Ready of the driver). */
  readonly appendBatchEntries = new Histogram(COUNT_BUCKETS);
  /** Writing one snapshot file. */
  readonly snapshotSeconds = new Histogram(SECONDS_BUCKETS);
}
