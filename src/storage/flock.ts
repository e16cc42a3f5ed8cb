import { dlopen, FFIType, read } from "bun:ffi";

/**
 * flock(2) through libc: node:fs has no advisory lock, and a lock file that only names a pid is
 * wrong whenever that pid is reused (a broker that ran as PID 1 in a container sees "process 1 is
 * alive" on every restart, since it is PID 1 again). The kernel drops a flock when the last
 * descriptor of the open file closes, which includes the death of the process, however it dies.
 */
const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = process.platform === "darwin" ? 35 : 11;
const EINTR = 4;

type Libc = {
  symbols: { flock(fd: number, op: number): number; errno(): number };
};

let libc: Libc | undefined;

function load(): Libc {
  if (libc !== undefined) return libc;
  const darwin = process.platform === "darwin";
  const lib = dlopen(darwin ? "libc.dylib" : "libc.so.6", {
    flock: { args: [FFIType.i32, FFIType.i32], returns: FFIType.i32 },
    [darwin ? "__error" : "__errno_location"]: { args: [], returns: FFIType.ptr },
  });
  const where = (darwin ? lib.symbols.__error : lib.symbols.__errno_location) as () => number | null;
  libc = {
    symbols: {
      flock: (fd, op) => (lib.symbols.flock as (fd: number, op: number) => number)(fd, op),
      errno: () => {
        const ptr = where();
        if (ptr === null) throw new Error("libc gave no errno location");
        return read.i32(ptr as never, 0);
      },
    },
  };
  return libc;
}

/** Takes an exclusive lock on the open file `fd` without waiting: false if another open file holds it. */
export function tryFlock(fd: number): boolean {
  const { symbols } = load();
  for (;;) {
    if (symbols.flock(fd, LOCK_EX | LOCK_NB) === 0) return true;
    const errno = symbols.errno();
    if (errno === EWOULDBLOCK) return false;
    if (errno === EINTR) continue;
    throw Object.assign(new Error(`flock of fd ${fd} failed with errno ${errno}`), { code: "EIO", errno });
  }
}
