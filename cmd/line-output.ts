/**
 * Lines for stdout, collected and written in one piece per flush: printing thousands of acknowledgements or messages
 * one write each would cost more than receiving them. `flush()` resolves once the OS has the bytes, which is what
 * a durable subscriber waits for before it acks.
 */
export class LineOutput {
  private chunks: string[] = [];
  private length = 0;
  private flushQueued = false;
  private failure: Error | undefined;

  constructor(private readonly write: (text: string, done: (error?: Error | null) => void) => void = writeStdout) {}

  /** Characters waiting to be written. */
  get pending(): number {
    return this.length;
  }

  line(text: string): void {
    this.chunks.push(text, "\n");
    this.length += text.length + 1;
  }

  /** Flushes once the current burst of lines is in, so that each shows promptly without a write per line. */
  flushSoon(): void {
    if (this.flushQueued) return;
    this.flushQueued = true;
    setImmediate(() => {
      this.flushQueued = false;
      this.flush().catch((e: unknown) => {
        this.failure ??= e instanceof Error ? e : new Error(String(e));
      });
    });
  }

  /** Writes what is collected; rejects if this or an earlier write failed (stdout closed, for one). */
  flush(): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.length === 0) return Promise.resolve();
    const text = this.chunks.join("");
    this.chunks = [];
    this.length = 0;
    return new Promise((resolve, reject) => this.write(text, (error) => (error ? reject(error) : resolve())));
  }
}

function writeStdout(text: string, done: (error?: Error | null) => void): void {
  process.stdout.write(text, done);
}
