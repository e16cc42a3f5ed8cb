import { Histogram, SECONDS_BUCKETS } from "./histogram.ts";

/** What a publish batch settled with: one result per message, or one error for the whole batch. */
type SlotResult = { type: string; duplicate?: true; code?: string };
type BatchOutcome = readonly SlotResult[] | { code: string };

/**
 * Publishes this broker took from clients, by result, and how long each waited for its ack. Counted
 * once per batch (PublishBatcher), so the publish path pays a few additions per batch, not per message.
 */
export class PublishMetrics {
  /** result ("ok", "duplicate", or an error code) -> messages. */
  readonly results = new Map<string, number>();
  readonly ackSeconds = new Histogram(SECONDS_BUCKETS);

  /** `messages` publishes proposed together at `startedAt` (performance.now()) were settled now. */
  settled(outcome: BatchOutcome, messages: number, startedAt: number): void {
    const seconds = (performance.now() - startedAt) / 1000;
    if (!isSlotResults(outcome)) {
      this.add(outcome.code, messages);
      return;
    }
    let ok = 0;
    for (const r of outcome) {
      if (r.type !== "publish") this.add(r.code ?? r.type, 1);
      else if (r.duplicate) this.add("duplicate", 1);
      else ok++;
    }
    if (ok > 0) {
      this.add("ok", ok);
      this.ackSeconds.observe(seconds, ok);
    }
  }

  private add(result: string, n: number): void {
    this.results.set(result, (this.results.get(result) ?? 0) + n);
  }
}

function isSlotResults(outcome: BatchOutcome): outcome is readonly SlotResult[] {
  return Array.isArray(outcome);
}
