import { MqraftError } from "../util/errors.ts";

/**
 * Whether a LogStore may still be used, and the guards that say so. A failed write or sync leaves
 * the files in an unknown state (and a failed fdatasync cannot be retried safely), so the store
 * refuses all further work once one failed; the node must restart and recover.
 */
export class StoreHealth {
  /** The first write or sync that failed, if any. */
  failure: unknown;
  closed = false;
  /** A snapshot from the leader is replacing the log: nothing else may write meanwhile. */
  installing = false;

  constructor(private readonly dir: string) {}

  /** Runs a write; if it throws, the store is failed from then on. */
  guard(work: () => void): void {
    try {
      work();
    } catch (e) {
      this.failure = e;
      throw e;
    }
  }

  async guardAsync(work: () => Promise<void>): Promise<void> {
    await work().catch((e: unknown) => {
      this.failure = e;
      throw e;
    });
  }

  failedError(): MqraftError {
    return new MqraftError("INTERNAL", `storage in ${this.dir} failed earlier and must be reopened`, {
      cause: this.failure,
    });
  }

  assertOpen(): void {
    if (this.closed) throw new MqraftError("INTERNAL", `storage in ${this.dir} is closed`);
  }

  assertWritable(): void {
    this.assertOpen();
    if (this.failure !== undefined) throw this.failedError();
    if (this.installing) throw new MqraftError("INTERNAL", "the log is being replaced by a snapshot");
  }
}
