/**
 * `bun test/sim/driver/group-sim-run.ts --seeds 2000 [--start 1]`: consumer groups in the driver simulation over
 * many seeds (group-sim.test.ts runs a few in make test). Prints each violation with its seed and the totals; exits
 * 1 if any seed failed.
 */
import { parseArgs } from "node:util";
import { runGroupSeed } from "./run-group-seed.ts";
import { runSeeds } from "./seed-runs.ts";

const { values } = parseArgs({ options: { seeds: { type: "string" }, start: { type: "string" } } });
const seeds = Number(values.seeds ?? 200);
const start = Number(values.start ?? 1);
const began = performance.now();
const keys = ["published", "received", "redelivered", "acked", "deadLettered", "crashes"] as const;
const { totals, failures } = await runSeeds(runGroupSeed, keys, seeds, start);
for (const f of failures) console.log(f);
const failed = failures.length;
console.log(
  `${seeds} seeds from ${start}: ${failed} violations; ${JSON.stringify(totals)}; ${((performance.now() - began) / 1000).toFixed(1)} s`,
);
process.exit(failed === 0 ? 0 : 1);
