import { dlopen, FFIType, ptr } from "bun:ffi";

/**
 * Notices when nobody reads stdout any more (`mqraft sub t | head -1` after head exits), as `cat` does, so that a
 * command waiting for more input still stops. A write to a closed pipe fails with EPIPE (Bun ignores SIGPIPE), but a
 * subscriber with nothing new to print writes nothing, so stdout is also polled: poll(2) reports POLLERR for a pipe
 * whose reader is gone and POLLHUP for a socket whose peer closed.
 */
const POLLERR = 0x8;
const POLLHUP = 0x10;
const POLL_EVERY_MS = 200;

let closed = false;
const listeners = new Set<() => void>();

function markClosed(): void {
  if (closed) return;
  closed = true;
  for (const listener of [...listeners]) listener();
  listeners.clear();
}

/** Whether stdout is known to have no reader. */
export function stdoutClosed(): boolean {
  return closed;
}

/** An EPIPE on stdout: the reader left; it is not a failure of the command. */
export function isClosedOutputError(e: unknown): boolean {
  const code = (e as { code?: unknown } | undefined)?.code;
  return code === "EPIPE" || code === "ERR_STREAM_DESTROYED" || code === "ECONNRESET";
}

/** Once per process: a write error on stdout marks it closed instead of crashing with a stack trace. */
export function guardStdout(): void {
  process.stdout.on("error", (e) => {
    if (isClosedOutputError(e)) markClosed();
    else throw e;
  });
}

let poller: (() => boolean) | undefined;

function pollStdout(): boolean {
  if (poller === undefined) {
    const lib = dlopen(process.platform === "darwin" ? "libc.dylib" : "libc.so.6", {
      poll: { args: [FFIType.ptr, FFIType.u64, FFIType.i32], returns: FFIType.i32 },
    });
    // struct pollfd { int fd; short events; short revents; }, events 0: only errors and hang-ups are reported
    const pollfd = new DataView(new ArrayBuffer(8));
    poller = () => {
      pollfd.setInt32(0, 1, true);
      pollfd.setInt16(4, 0, true);
      pollfd.setInt16(6, 0, true);
      const ready = (lib.symbols.poll as (p: unknown, n: number, ms: number) => number)(ptr(pollfd), 1, 0);
      return ready > 0 && (pollfd.getInt16(6, true) & (POLLERR | POLLHUP)) !== 0;
    };
  }
  return poller();
}

/** Calls `onClosed` once stdout has no reader; returns a function that stops watching. */
export function onStdoutClosed(onClosed: () => void): () => void {
  if (closed) {
    queueMicrotask(onClosed);
    return () => {};
  }
  listeners.add(onClosed);
  const timer = setInterval(() => {
    if (pollStdout()) markClosed();
  }, POLL_EVERY_MS);
  timer.unref();
  return () => {
    clearInterval(timer);
    listeners.delete(onClosed);
  };
}

/**
 * A streaming command's stop: SIGINT, SIGTERM and a reader that left stdout (whose pending lines are dropped) each
 * call `stop`. Returns what undoes the three.
 */
export function stopOnInterruptOrClosedOutput(stop: () => void, out: { drop(): void }): () => void {
  process.on("SIGINT", stop);
  process.on("SIGTERM", stop);
  const unwatch = onStdoutClosed(() => {
    out.drop();
    stop();
  });
  return () => {
    unwatch();
    process.off("SIGINT", stop);
    process.off("SIGTERM", stop);
  };
}
