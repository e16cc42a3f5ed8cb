import type { Logger } from "../util/log.ts";

const ONCE_PER_MS = 60_000;
/** Addresses remembered at most; past it the oldest is forgotten (and may be logged again), so memory stays bounded. */
const MAX_ADDRESSES = 1024;

/**
 * Logs a refused authentication at most once a minute per remote host, so someone knocking in a loop cannot fill
 * the log. `now` is passed in so that tests need no clock.
 */
export class RefusalLog {
  private readonly lastLogged = new Map<string, number>();

  constructor(
    private readonly log: Logger,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Logs `message` unless this host was logged within the last minute; returns whether it logged. */
  refused(remoteAddress: string, message: string): boolean {
    const host = remoteAddress.replace(/:\d+$/, "");
    const now = this.now();
    const last = this.lastLogged.get(host);
    if (last !== undefined && now - last < ONCE_PER_MS) return false;
    this.lastLogged.delete(host);
    if (this.lastLogged.size >= MAX_ADDRESSES) {
      const oldest = this.lastLogged.keys().next().value;
      if (oldest !== undefined) this.lastLogged.delete(oldest);
    }
    this.lastLogged.set(host, now);
    this.log.warn(`${message} (from ${host}; logged at most once a minute per address)`);
    return true;
  }
}
