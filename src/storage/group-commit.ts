/**
 * Group commit: callers ask for durability with request(); one flush runs at a time, and every
 * request that arrives while it runs is answered by the single flush that follows it. So a burst
 * of appends from one event-loop turn, or from many turns during one fdatasync, shares one flush.
 */
export class GroupCommit {
  private running: Promise<void> | undefined;
  private waiting: { promise: Promise<void>; resolve: () => void; reject: (e: unknown) => void } | undefined;

  constructor(private readonly flush: () => Promise<void>) {}

  get busy(): boolean {
    return this.running !== undefined;
  }

  /** Resolves once a flush that started after this call has finished. */
  request(): Promise<void> {
    if (this.running === undefined) return this.start();
    if (this.waiting === undefined) {
      let resolve!: () => void;
      let reject!: (e: unknown) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      this.waiting = { promise, resolve, reject };
    }
    return this.waiting.promise;
  }

  /** Resolves when no flush is running or waiting (whatever their outcome). */
  async idle(): Promise<void> {
    while (this.running !== undefined) await this.running.catch(() => undefined);
  }

  private start(): Promise<void> {
    const p = this.flush();
    this.running = p;
    const next = (): void => {
      this.running = undefined;
      const w = this.waiting;
      if (w === undefined) return;
      this.waiting = undefined;
      this.start().then(w.resolve, w.reject);
    };
    p.then(next, next);
    return p;
  }
}
