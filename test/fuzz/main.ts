import { parseArgs } from "node:util";
import { runFuzz, summary } from "./fuzz-cluster.ts";

/**
 * `bun run fuzz --seed S --frames N`: the suite's fuzz run (test/fuzz/fuzz.test.ts), longer or with another seed.
 * Exit 1 when a check failed; the summary line says what was sent and how the servers came through.
 */
const { values } = parseArgs({
  args: Bun.argv.slice(2),
  options: { seed: { type: "string", default: "1" }, frames: { type: "string", default: "100000" } },
});
const seed = Number(values.seed);
const frames = Number(values.frames);
if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(frames) || frames < 1) {
  console.error("usage: bun run fuzz --seed S --frames N (whole numbers, N at least 1)");
  process.exit(2);
}
const outcome = await runFuzz(seed, frames);
console.log(summary(outcome));
for (const problem of outcome.problems) console.error(`problem: ${problem}`);
process.exit(outcome.problems.length === 0 ? 0 : 1);
