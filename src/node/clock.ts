/**
 * Time as a broker assembly sees it: passed in, so that the simulator runs the same code on its own
 * clock (and one seed replays a run exactly). Every timer returns its own cancel function.
 */
export interface Clock {
  /** Wall-clock milliseconds since the epoch (commands carry it; retention by age reads it). */
  now(): number;
  /** Milliseconds that never go back (performance.now); a clock without it is taken as monotonic itself. */
  monotonic?(): number;
  /** Runs `fn` once after `ms`; 0 means on a later turn of the event loop, before any timer. */
  after(ms: number, fn: () => void): () => void;
  /** Runs `fn` every `ms` until cancelled. */
  every(ms: number, fn: () => void): () => void;
}

/** The process's clock: Date.now and the event loop's timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  after(ms, fn) {
    if (ms <= 0) {
      const handle = setImmediate(fn);
      return () => clearImmediate(handle);
    }
    const handle = setTimeout(fn, ms);
    return () => clearTimeout(handle);
  },
  every(ms, fn) {
    const handle = setInterval(fn, ms);
    return () => clearInterval(handle);
  },
};
