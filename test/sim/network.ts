/**
 * A simulated network between numbered endpoints, generic over the message type: per-path delay,
 * jitter (which reorders), loss, duplication, and directed links that can be cut (symmetric and
 * asymmetric partitions). A cut link drops messages already in flight on it too.
 */
import type { Prng } from "../../src/util/prng.ts";
import type { Scheduler } from "./scheduler.ts";

export interface NetworkFaults {
  /** Probability that a message is dropped. */
  loss: number;
  /** Probability that a message is delivered twice. */
  duplicate: number;
  /** Extra delay, uniform in [0, jitter), drawn per message: messages overtake each other. */
  jitter: number;
}

export interface NetworkStats {
  sent: number;
  delivered: number;
  lost: number;
  cut: number;
  duplicated: number;
}

export const CALM: NetworkFaults = { loss: 0, duplicate: 0, jitter: 0 };

export class SimNetwork<M> {
  faults: NetworkFaults = { ...CALM };
  readonly stats: NetworkStats = { sent: 0, delivered: 0, lost: 0, cut: 0, duplicated: 0 };
  private readonly blocked = new Set<number>();
  private readonly baseDelay = new Map<number, number>();

  constructor(
    private readonly scheduler: Scheduler,
    private readonly prng: Prng,
    /** Delay range of a path, fixed per path the first time it is used. */
    private readonly delayRange: readonly [number, number],
    private readonly deliver: (from: number, to: number, m: M) => void,
  ) {}

  send(from: number, to: number, m: M): void {
    this.stats.sent++;
    if (this.isCut(from, to)) {
      this.stats.cut++;
      return;
    }
    if (this.faults.loss > 0 && this.prng.chance(this.faults.loss)) {
      this.stats.lost++;
      return;
    }
    this.schedule(from, to, m);
    if (this.faults.duplicate > 0 && this.prng.chance(this.faults.duplicate)) {
      this.stats.duplicated++;
      this.schedule(from, to, m);
    }
  }

  isCut(from: number, to: number): boolean {
    return this.blocked.size > 0 && this.blocked.has(linkKey(from, to));
  }

  /** Cuts from → to only (an asymmetric partition when the reverse link stays up). */
  cut(from: number, to: number): void {
    this.blocked.add(linkKey(from, to));
  }

  /** Cuts every link between the groups, both ways. */
  partition(groups: readonly (readonly number[])[]): void {
    for (const a of groups) {
      for (const b of groups) {
        if (a === b) continue;
        for (const x of a) for (const y of b) this.cut(x, y);
      }
    }
  }

  /** Cuts `id` off from every one of `others`, both ways. */
  isolate(id: number, others: readonly number[]): void {
    this.partition([[id], others.filter((o) => o !== id)]);
  }

  heal(): void {
    this.blocked.clear();
  }

  private schedule(from: number, to: number, m: M): void {
    const jitter = this.faults.jitter > 0 ? Math.floor(this.prng.next() * this.faults.jitter) : 0;
    this.scheduler.after(this.pathDelay(from, to) + jitter, () => {
      if (this.isCut(from, to)) {
        this.stats.cut++;
        return;
      }
      this.stats.delivered++;
      this.deliver(from, to, m);
    });
  }

  private pathDelay(from: number, to: number): number {
    const key = linkKey(from, to);
    let d = this.baseDelay.get(key);
    if (d === undefined) {
      d = this.prng.int(this.delayRange[0], this.delayRange[1]);
      this.baseDelay.set(key, d);
    }
    return d;
  }
}

function linkKey(from: number, to: number): number {
  return from * 65536 + to;
}
