/**
 * `bun test/sim/driver/group-sim-run.ts --seeds 2000 [--start 1]`: consumer groups in the driver simulation over
 * many seeds (group-sim.test.ts runs a few in make test). Prints each violation with its seed and the totals; exits
 * 1 if any seed failed.
 */
import { parseArgs } from "node:util";
import { runGroupSeed } from "./run-group-seed.ts";

const { values } = parseArgs({ options: { seeds: { type: "string" }, start: { type: "string" } } });
const seeds = Number(values.seeds ?? 200);
const start = Number(values.start ?? 1);
const totals = { published: 0, received: 0, redelivered: 0, acked: 0, deadLettered: 0, crashes: 0 };
let failed = 0;
const began = performance.now();
for (let seed = start; seed < start + seeds; seed++) {
  const r = await runGroupSeed(seed);
  for (const key of Object.keys(totals) as (keyof typeof totals)[]) totals[key] += r.stats[key];
  if (r.violation !== undefined) {
    failed++;
    console.log(
      `seed ${seed}: ${r.violation.invariant}: ${r.violation.message}\n${r.violation.trace.slice(-40).join("\n")}`,
    );
  }
}
console.log(
  `${seeds} seeds from ${start}: ${failed} violations; ${JSON.stringify(totals)}; ${((performance.now() - began) / 1000).toFixed(1)} s`,
);
process.exit(failed === 0 ? 0 : 1);
