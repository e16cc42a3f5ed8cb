/**
 * A node's disk: the storage layer's SimFs in manual sync mode, where each fdatasync and folder sync
 * completes only when the simulator says so, a seeded delay after it was asked for. A crash between
 * a write and the end of its sync loses (or tears) what was written.
 */
import { type CrashOptions, SimFs } from "../../../src/storage/sim-fs.ts";

export interface SyncTiming {
  /** Time units the next sync takes. */
  delay(): number;
  /** Runs `complete` after `delay` (on the node's process, so not while it is paused). */
  after(delay: number, complete: () => void): void;
}

export class TimedSimFs extends SimFs {
  /** Bumped by a crash: completions scheduled before it must not complete syncs asked for after it. */
  private generation = 0;

  constructor(private readonly timing: SyncTiming) {
    super({ syncMode: "manual" });
  }

  override datasync(fd: number): Promise<void> {
    const done = super.datasync(fd);
    this.completeLater();
    return done;
  }

  override syncDir(dir: string): Promise<void> {
    const done = super.syncDir(dir);
    this.completeLater();
    return done;
  }

  /** The bytes reach the page cache at once, but the call resolves later, as a write on the thread pool does. */
  override writeParts(fd: number, parts: readonly Uint8Array[], position: number): Promise<void> {
    void super.writeParts(fd, parts, position); // writes at once (or throws), resolved already
    const generation = this.generation;
    return new Promise((resolve) => {
      this.timing.after(this.timing.delay(), () => {
        if (generation === this.generation) resolve();
      });
    });
  }

  override crash(options: CrashOptions = {}): void {
    this.generation++;
    super.crash(options);
  }

  /**
   * The process reopened its store without ending (a write failed with ENOSPC): the syncs it asked for before still
   * complete, as a real disk's would, though the timers that were to complete them died with the old incarnation.
   */
  carryOverSyncs(): void {
    for (let i = this.pendingSyncs(); i > 0; i--) this.completeLater();
  }

  private completeLater(): void {
    const generation = this.generation;
    this.timing.after(this.timing.delay(), () => {
      if (generation === this.generation) this.completeSyncs(1);
    });
  }
}
