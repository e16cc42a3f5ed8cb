/**
 * A write that failed with ENOSPC, in a broker that stays up (docs/disk-full.md, "When the disk fills anyway"): the
 * assembly stops, its store is closed at its last durable state, and the broker opens it again from disk, exactly as
 * a restart would, with the disk alarm raised until space returns. Production (BrokerNode) and the simulator both
 * reopen through here.
 */
import type { AssemblyOptions } from "./assembly-options.ts";
import { BrokerAssembly } from "./broker-assembly.ts";

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
