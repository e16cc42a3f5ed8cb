import { isClosedOutputError } from "./stdout-watch.ts";

/**
 * Lines for stdout, collected and written in one piece per flush: printing thousands of acknowledgements or messages
 * one write each would cost more than receiving them. `flush()` resolves once the OS has the bytes, which is what
 * a durable subscriber waits for before it acks. A reader that went away (`| head -1`) is not a failure: `flush()`
 * then resolves false and every later line is dropped.
 */
export class LineOutput {
  private chunks: string[] = [];
  private length = 0;
  private flushQueued = false;
  private failure: Error | undefined;
  private readerGone = false;

  constructor(private readonly write: (text: string, done: (error?: Error | null) => void) => void = writeStdout) {}

  /** Characters waiting to be written. */
  get pending(): number {
    return this.length;
  }

  /** Whether a write found that nobody reads the output any more. */
  get closed(): boolean {
    return this.readerGone;
  }

  line(text: string): void {
    if (this.readerGone) return;
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

  /**
   * Writes what is collected. Resolves true once written, false if the reader is gone (those lines are lost);
   * rejects if this or an earlier write failed otherwise (a full disk, for one).
   */
  flush(): Promise<boolean> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.readerGone) return Promise.resolve(false);
    if (this.length === 0) return Promise.resolve(true);
    const text = this.chunks.join("");
    this.chunks = [];
    this.length = 0;
    return new Promise((resolve, reject) =>
      this.write(text, (error) => {
        if (!error) resolve(true);
        else if (isClosedOutputError(error)) {
          this.readerGone = true;
          resolve(false);
        } else reject(error);
      }),
    );
  }

  /** Lines already collected are dropped: for when the reader is known to be gone. */
  drop(): void {
    this.readerGone = true;
    this.chunks = [];
    this.length = 0;
  }
}

function writeStdout(text: string, done: (error?: Error | null) => void): void {
  process.stdout.write(text, done);
}
