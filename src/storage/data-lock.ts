import { MqraftError } from "../util/errors.ts";
import { errnoCode, type Fs, readWholeFile } from "./fs.ts";

/**
 * One broker per data folder: an advisory lock (flock) on a file in the folder, held through a
 * descriptor kept open for the broker's lifetime. The kernel releases it when the process dies,
 * however it dies, so no check of "is that pid still alive" is needed (that check was wrong
 * whenever the pid was reused: a broker that ran as PID 1 in a container could never restart).
 * The file also holds the holder's pid, only to name it in the error the next one gets.
 */
export interface DataLock {
  release(): void;
}

export function acquireDataLock(fs: Fs, dir: string, lockPath: string): DataLock {
  const fd = openLockFile(fs, lockPath);
  try {
    if (!fs.tryLock(fd)) {
      const holder = readHolder(fs, lockPath);
      throw new MqraftError(
        "LOCKED",
        `data folder ${dir} is in use by ${holder === undefined ? "another process" : `process ${holder}`}`,
      );
    }
    fs.truncate(fd, 0);
    fs.write(fd, new TextEncoder().encode(`${fs.pid()}\n`), 0);
  } catch (e) {
    fs.close(fd);
    throw e;
  }
  // The file stays when released: unlinking it would let a process that opened it just before take
  // a lock on the orphaned file while a third creates and locks a new one.
  let held = true;
  return {
    release: () => {
      if (!held) return;
      held = false;
      fs.close(fd);
    },
  };
}

/** Who holds the folder's lock: "free", or the pid written by the live holder ("another process" if unknown). */
export function lockHolder(fs: Fs, lockPath: string): { held: false } | { held: true; pid: number | undefined } {
  let fd: number;
  try {
    fd = fs.open(lockPath, "r");
  } catch (e) {
    if (errnoCode(e) === "ENOENT") return { held: false };
    throw e;
  }
  try {
    return fs.tryLock(fd) ? { held: false } : { held: true, pid: readHolder(fs, lockPath) };
  } finally {
    fs.close(fd);
  }
}

/** Opens the lock file, creating it if needed, without emptying it (the holder's pid must survive for the message). */
function openLockFile(fs: Fs, lockPath: string): number {
  try {
    return fs.open(lockPath, "r+");
  } catch (e) {
    if (errnoCode(e) !== "ENOENT") throw e;
  }
  try {
    return fs.open(lockPath, "wx");
  } catch (e) {
    // another process created it in between
    if (errnoCode(e) !== "EEXIST") throw e;
    return fs.open(lockPath, "r+");
  }
}

function readHolder(fs: Fs, lockPath: string): number | undefined {
  const bytes = readWholeFile(fs, lockPath);
  if (bytes === undefined) return undefined;
  const pid = Number(new TextDecoder().decode(bytes).trim());
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}
