/**
 * A process killed (not a power loss) after renaming a state file into place and before fsyncing the folder leaves the
 * rename in the page cache only. The next start reads it; whatever the node then does on it (a vote sent again, a log
 * compacted under a new snapshot) must survive a later power loss, so opening the store makes the folder durable.
 */
import { describe, expect, test } from "bun:test";
import { join } from "node:path";
import type { HardState } from "../../src/raft/log-types.ts";
import { LogStore } from "../../src/storage/log-store.ts";
import { renameTempIntoPlace, writeSyncedTemp } from "../../src/storage/sealed-file.ts";
import { SimFs } from "../../src/storage/sim-fs.ts";
import { encodeHardState } from "../../src/storage/state-files.ts";

const DIR = "/data/node1";

describe("a rename a killed process never fsynced", () => {
  test("the hard state read at start is durable once the store is open", async () => {
    const fs = new SimFs();
    const first = await LogStore.open({ fs, dir: DIR });
    first.saveHardState({ term: 5, vote: 2, commit: 0 });
    await first.sync();
    await first.close();
    // what LogStore.sync does for a new vote, killed between the rename and the folder's fsync (the vote unsent)
    const voted: HardState = { term: 6, vote: 3, commit: 0 };
    await writeSyncedTemp(fs, join(DIR, "hardstate"), encodeHardState(voted));
    renameTempIntoPlace(fs, join(DIR, "hardstate"));

    const restarted = await LogStore.open({ fs, dir: DIR });
    const loaded = restarted.hardState();
    expect(loaded).toEqual(voted);
    // the restarted node may now send the vote for node 3 in term 6 again (a duplicated request); a power loss follows
    await restarted.close();
    fs.crash();
    const after = await LogStore.open({ fs, dir: DIR });
    expect({ afterPowerLoss: after.hardState() }).toEqual({ afterPowerLoss: loaded });
    await after.close();
  });
});
