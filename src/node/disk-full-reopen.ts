/**
 * A write that failed with ENOSPC, in a broker that stays up (docs/disk-full.md, "When the disk fills anyway"): the
 * assembly stops, its store is closed at its last durable state, and the broker opens it again from disk, exactly as
 * a restart would, with the disk alarm raised until space returns. Production (BrokerNode) and the simulator both
 * reopen through here.
 */
import { isMqraftError, MqraftError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import type { AssemblyOptions } from "./assembly-options.ts";
import { BrokerAssembly } from "./broker-assembly.ts";
import { persistenceFailure } from "./disk-guard.ts";

/**
 * Stops `failed` (closing its store with each log file cut back to what was last synced: what a failed write or sync
 * left behind was never acknowledged, and after a failed fsync it may not even be what the disk holds) and opens the
 * data folder again with what `options` gives once it has stopped, keeping the disk alarm. The new assembly is not
 * started.
 */
export async function reopenAfterDiskFull(
  failed: BrokerAssembly,
  options: () => AssemblyOptions,
): Promise<BrokerAssembly> {
  const alarm = failed.diskAlarm;
  await failed.stop({ atDurableState: true });
  const next = options();
  return BrokerAssembly.open(alarm === undefined ? next : { ...next, diskAlarm: alarm });
}

/** An accepted connection, as far as a reopen closes it. */
interface Closable {
  readonly closed: Promise<unknown>;
  close(reason?: MqraftError): void;
}

/** What a broker process (BrokerNode) lends its reopen. */
export interface ReopenHost {
  /** What the assembly was opened with. */
  options: AssemblyOptions;
  current(): BrokerAssembly;
  /** Puts the reopened assembly in place of the failed one (not started yet). */
  replace(next: BrokerAssembly): void;
  stopping(): boolean;
  stop(reason: MqraftError): Promise<void>;
  log: Logger;
}

/**
 * A broker process's reopen after ENOSPC: it stays up with its disk alarm raised (docs/disk-full.md). The connections
 * it accepted are closed when it reopens, as a restart would close them (subscribers resume on their own, from their
 * last offset; peers dial again); a reopen that fails stops the broker with the reason.
 */
export class DiskFullReopen {
  private readonly accepted = new Set<Closable>();
  private reopening = false;

  constructor(private readonly host: ReopenHost) {}

  /** A connection accepted by the broker's client port. */
  track(connection: Closable): void {
    this.accepted.add(connection);
    void connection.closed.then(() => this.accepted.delete(connection));
  }

  async reopen(): Promise<void> {
    const { host } = this;
    if (host.stopping() || this.reopening) return;
    this.reopening = true;
    const dir = host.options.dataDir;
    try {
      const next = await reopenAfterDiskFull(host.current(), () => host.options);
      if (host.stopping()) return await next.stop();
      host.replace(next);
      const closing = new MqraftError("UNAVAILABLE", "the broker reopened its data folder after its disk filled");
      for (const connection of this.accepted) connection.close(closing);
      next.start();
      host.log.info(`Reopened ${dir} after ENOSPC: log [${next.store.firstIndex()}, ${next.store.lastIndex()}]`);
    } catch (e) {
      const error = isMqraftError(e) ? e : persistenceFailure(e, dir);
      host.log.error(`Stopping: could not reopen ${dir} after ENOSPC: ${error.message}`);
      await host.stop(error);
    } finally {
      this.reopening = false;
    }
  }
}
