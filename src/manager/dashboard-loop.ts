import type { DashboardFeed } from "../http/dashboard-routes.ts";
import type { ClusterCollector } from "./cluster-collector.ts";
import type { DashboardState } from "./dashboard-model.ts";

const ROUND_MS = 1000;

/**
 * Runs the collector once a second (a round starts only after the previous one ended, so a slow cluster slows the
 * rounds instead of piling them up) and hands each picture to the dashboards that follow.
 */
export class DashboardLoop implements DashboardFeed {
  private readonly listeners = new Set<(state: DashboardState) => void>();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private stopped = false;

  constructor(private readonly collector: ClusterCollector) {}

  start(): this {
    const round = async (): Promise<void> => {
      const started = performance.now();
      try {
        const state = await this.collector.collect();
        for (const listener of this.listeners) listener(state);
      } catch {
        // a round that failed (a broker that answered nonsense) is skipped; the next one asks again
      }
      if (this.stopped) return;
      this.timer = setTimeout(round, Math.max(0, ROUND_MS - (performance.now() - started)));
      this.timer.unref?.();
    };
    void round();
    return this;
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
  }

  current(): DashboardState | undefined {
    return this.collector.current;
  }

  subscribe(listener: (state: unknown) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
