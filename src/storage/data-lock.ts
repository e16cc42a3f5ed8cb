import { MqraftError } from "../util/errors.ts";
import { errnoCode, type Fs, readWholeFile, unlinkIfPresent } from "./fs.ts";

/**
 * One broker per data folder. The lock is a file created exclusively and holding the owner's pid.
 * A lock whose pid is no longer alive was left by a crash and is taken over. Without flock there is
 * a narrow race when two processes take over the same stale lock at the same instant; starting two
 * brokers on one folder within microseconds of each other after a crash is not a case we defend.
 */
export interface DataLock {
  release(): void;
}

export function acquireDataLock(fs: Fs, dir: string, lockPath: string): DataLock {
  const me = fs.pid();
  for (let attempt = 0; attempt < 2; attempt++) {
    let fd: number;
    try {
      fd = fs.open(lockPath, "wx");
    } catch (e) {
      if (errnoCode(e) !== "EEXIST") throw e;
      const holder = readHolder(fs, lockPath);
      if (holder !== undefined && fs.isProcessAlive(holder)) {
        throw new MqraftError("LOCKED", `data folder ${dir} is in use by process ${holder}`);
      }
      // Dead holder, or a lock file emptied by a crash right after its creation: stale.
      unlinkIfPresent(fs, lockPath);
      continue;
    }
    try {
      fs.write(fd, new TextEncoder().encode(`${me}\n`), 0);
    } finally {
      fs.close(fd);
    }
    return { release: () => releaseIfOurs(fs, lockPath, me) };
  }
  throw new MqraftError("LOCKED", `data folder ${dir} is being taken over by another process`);
}

function readHolder(fs: Fs, lockPath: string): number | undefined {
  const bytes = readWholeFile(fs, lockPath);
  if (bytes === undefined) return undefined;
  const pid = Number(new TextDecoder().decode(bytes).trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

function releaseIfOurs(fs: Fs, lockPath: string, me: number): void {
  if (readHolder(fs, lockPath) === me) unlinkIfPresent(fs, lockPath);
}
