/**
 * Simulated time: a queue of callbacks ordered by (time, insertion order), so one seed always
 * replays the same interleaving. Generic: it knows nothing about Raft.
 */
interface Event {
  at: number;
  seq: number;
  run: () => void;
}

export class Scheduler {
  private heap: Event[] = [];
  private seq = 0;
  now = 0;

  /** Runs `run` after `delay` time units (0: after everything already due now). */
  after(delay: number, run: () => void): void {
    this.push({ at: this.now + Math.max(0, delay), seq: this.seq++, run });
  }

  /** Runs events in order until the next one is later than `until`; time then stands at `until`. */
  runUntil(until: number, afterEach?: () => void): void {
    while (this.step(until)) afterEach?.();
    this.now = until;
  }

  /**
   * Runs the next event if it is due by `until` and says whether there was one. A driver whose
   * events start promises (test/sim/driver) lets them settle between two steps.
   */
  step(until: number): boolean {
    const top = this.heap[0];
    if (top === undefined || top.at > until) return false;
    this.pop();
    this.now = top.at;
    top.run();
    return true;
  }

  private push(e: Event): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(e, h[parent] as Event)) break;
      h[i] = h[parent] as Event;
      i = parent;
    }
    h[i] = e;
  }

  private pop(): void {
    const h = this.heap;
    const last = h.pop() as Event;
    if (h.length === 0) return;
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= h.length) break;
      const r = l + 1;
      const child = r < h.length && before(h[r] as Event, h[l] as Event) ? r : l;
      if (!before(h[child] as Event, last)) break;
      h[i] = h[child] as Event;
      i = child;
    }
    h[i] = last;
  }
}

function before(a: Event, b: Event): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
