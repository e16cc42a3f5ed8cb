import type { Exposition } from "./exposition.ts";

const SAMPLE_MS = 500;

/**
 * Event-loop lag: how late a timer fires, the delay every message on this process waits behind the
 * work ahead of it. Sampled twice a second by a timer that does not keep the process alive; the
 * exposition reports the worst lag since the previous scrape and the last one.
 */
export class EventLoopLag {
  private timer: ReturnType<typeof setInterval> | undefined;
  private expected = 0;
  last = 0;
  worst = 0;

  start(): this {
    this.expected = performance.now() + SAMPLE_MS;
    this.timer = setInterval(() => {
      const now = performance.now();
      this.last = Math.max(0, now - this.expected) / 1000;
      this.worst = Math.max(this.worst, this.last);
      this.expected = now + SAMPLE_MS;
    }, SAMPLE_MS);
    this.timer.unref?.();
    return this;
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
  }

  write(out: Exposition): void {
    const memory = process.memoryUsage();
    out
      .gauge("process_resident_memory_bytes", "Resident set size of this process in bytes.", memory.rss)
      .gauge("process_heap_bytes", "JavaScript heap in use, in bytes.", memory.heapUsed)
      .gauge("mqraft_event_loop_lag_seconds", "How late the last sampled timer fired (sampled every 0.5 s).", this.last)
      .gauge(
        "mqraft_event_loop_lag_max_seconds",
        "The worst timer lateness since the previous scrape (sampled every 0.5 s).",
        this.worst,
      );
    this.worst = this.last;
  }
}
