import type { Fs, OpenMode } from "../../src/storage/fs.ts";
import type { CrashOptions, SimFs } from "../../src/storage/sim-fs.ts";

/**
 * A process on a simulated disk that loses power right after its n-th file-system operation: the
 * operation completes, the disk crashes (SimFs.crash), and every later operation of this process
 * fails, as nothing of a dead process reaches the disk. A new process uses the SimFs directly.
 * With the SimFs in "immediate" sync mode, crashing after each operation in turn reaches every
 * point between two operations of a sequential piece of storage code.
 */
export class CrashPointFs implements Fs {
  /** Operations done so far. */
  ops = 0;
  crashed = false;
  private crashAt = Number.POSITIVE_INFINITY;
  private crashOptions: CrashOptions = {};

  constructor(readonly sim: SimFs) {}

  /** The power goes out right after `more` further operations. */
  crashAfter(more: number, options: CrashOptions = {}): void {
    this.crashAt = this.ops + more;
    this.crashOptions = options;
  }

  open(path: string, mode: OpenMode): number {
    return this.op(() => this.sim.open(path, mode));
  }
  close(fd: number): void {
    this.op(() => this.sim.close(fd));
  }
  read(fd: number, buf: Uint8Array, position: number): number {
    return this.op(() => this.sim.read(fd, buf, position));
  }
  write(fd: number, data: Uint8Array, position: number): void {
    this.op(() => this.sim.write(fd, data, position));
  }
  writeParts(fd: number, parts: readonly Uint8Array[], position: number): Promise<void> {
    return this.op(() => this.sim.writeParts(fd, parts, position));
  }
  size(fd: number): number {
    return this.op(() => this.sim.size(fd));
  }
  truncate(fd: number, length: number): void {
    this.op(() => this.sim.truncate(fd, length));
  }
  datasync(fd: number): Promise<void> {
    return this.op(() => this.sim.datasync(fd));
  }
  datasyncSync(fd: number): void {
    this.op(() => this.sim.datasyncSync(fd));
  }
  syncDir(dir: string): Promise<void> {
    return this.op(() => this.sim.syncDir(dir));
  }
  syncDirSync(dir: string): void {
    this.op(() => this.sim.syncDirSync(dir));
  }
  rename(from: string, to: string): void {
    this.op(() => this.sim.rename(from, to));
  }
  unlink(path: string): void {
    this.op(() => this.sim.unlink(path));
  }
  readdir(dir: string): string[] {
    return this.op(() => this.sim.readdir(dir));
  }
  mkdir(dir: string): void {
    this.op(() => this.sim.mkdir(dir));
  }
  tryLock(fd: number): boolean {
    return this.op(() => this.sim.tryLock(fd));
  }
  pid(): number {
    return this.sim.pid();
  }

  private op<T>(work: () => T): T {
    if (this.crashed) throw Object.assign(new Error("EIO: the process lost power"), { code: "EIO" });
    this.ops++;
    try {
      return work();
    } finally {
      if (this.ops === this.crashAt) {
        this.crashed = true;
        this.sim.crash(this.crashOptions);
      }
    }
  }
}
