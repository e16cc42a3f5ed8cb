/** What the broker assembly does with a data folder it opened: found a new cluster's log, or say what recovery did. */
import { bootstrap } from "../raft/index.ts";
import type { LogStore } from "../storage/log-store.ts";
import type { Logger } from "../util/log.ts";
import type { AssemblyOptions } from "./assembly-options.ts";

/**
 * A new data folder of a founding member receives the founding configuration as its first entries. A new folder of a
 * broker whose cluster already runs (askCluster answers) keeps no vote or lead until it holds the log the cluster
 * reported: it may be a broker that ran before and lost its folder (src/node/fresh-folder-guard.ts).
 */
export async function found(store: LogStore, options: AssemblyOptions): Promise<void> {
  // A repaired folder may hold no log and no snapshot, but it holds a term and a vote: it is not new.
  const fresh = store.lastIndex() === 0 && store.snapshot() === undefined && store.hardState().term === 0;
  if (!fresh) {
    options.log.info(
      `Recovered ${options.dataDir}: log [${store.firstIndex()}, ${store.lastIndex()}], term ${store.hardState().term}`,
    );
    return;
  }
  const running = await options.askCluster?.();
  if (running !== undefined) {
    // The marker first: until it is durable the folder stays new, so a crash or a failed write here leaves a folder
    // that asks the cluster again at the next start, never one that votes freely.
    await store.markDamaged({
      fromIndex: 1,
      untilIndex: running.untilIndex,
      file: options.dataDir,
      offset: 0,
      reason: `the data folder was empty while the cluster ran at term ${running.term}`,
      // the most up-to-date answered log's last term: the highest term may be above every log's (fresh-folder-guard.ts)
      aboveTerm: running.floorTerm,
    });
    // Then the term, durable before any entry: no vote in a term it may have voted in already (the highest the
    // others answered), so none in that term either: its vote there is taken, as if given to itself. Saved with the
    // founding entries instead, a power loss could keep the entries (the folder no longer new, so it does not ask
    // again) and lose the term.
    store.saveHardState({ ...store.hardState(), term: running.term, vote: options.id });
    await store.sync();
  }
  if (options.founders.length > 0) {
    await options.beforeFounding?.();
    const addresses = Object.fromEntries(options.founders.map((p) => [String(p.id), p.address]));
    const first = bootstrap({ voters: options.founders.map((p) => p.id), learners: [], addresses });
    store.append(first.entries);
    const hard = store.hardState();
    store.saveHardState({ ...first.hardState, term: Math.max(first.hardState.term, hard.term), vote: hard.vote });
  }
  await store.sync();
}

/** Warns of a repair and of a commit index beyond the recovered log. */
export function reportRecovery(store: LogStore, log: Logger): void {
  const d = store.damage;
  if (d !== undefined) {
    log.warn(
      `Log repaired: cut at index ${d.fromIndex} (${d.file} byte ${d.offset}: ${d.reason}); this broker will not vote or lead until it holds index ${d.untilIndex} again${d.aboveTerm === undefined ? "" : `, but for a candidate whose log is at least as up to date as (term ${d.aboveTerm}, index ${d.untilIndex})`}`,
    );
    const dropped = store.recovery.droppedSnapshot;
    if (dropped !== undefined)
      log.warn(
        `The snapshot at index ${dropped} was dropped with the entries the repair cut (they held its retained messages): the leader sends them again`,
      );
  }
  if (store.recovery.commitBeyondLog)
    log.info(
      `The saved commit index ${store.hardState().commit} is beyond the recovered log (last index ${store.lastIndex()}): the leader sends the rest`,
    );
}
