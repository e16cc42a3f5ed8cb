/** The last events of a run, kept cheaply (no formatting) and printed only when a run fails. */
export interface TraceEvent {
  at: number;
  node: number;
  what: string;
  detail?: unknown;
}

export class Trace {
  private readonly ring: (TraceEvent | undefined)[];
  private next = 0;

  constructor(readonly capacity: number) {
    this.ring = new Array<TraceEvent | undefined>(capacity);
  }

  add(at: number, node: number, what: string, detail?: unknown): void {
    this.ring[this.next % this.capacity] = { at, node, what, detail };
    this.next++;
  }

  /** The last `count` events, oldest first, one line each. */
  lines(count: number, format: (detail: unknown) => string): string[] {
    const out: string[] = [];
    for (let i = Math.max(0, this.next - Math.min(count, this.capacity)); i < this.next; i++) {
      const e = this.ring[i % this.capacity];
      if (e === undefined) continue;
      const detail = e.detail === undefined ? "" : ` ${format(e.detail)}`;
      out.push(`t=${e.at} n${e.node} ${e.what}${detail}`);
    }
    return out;
  }
}
