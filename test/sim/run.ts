/**
 * The simulation runner: `bun run sim --seeds N --start S [--nodes K]`. Runs seeds S..S+N-1 and
 * prints each violation with its seed and the trace that led to it; the last line is always
 * `sim: N seeds, V violations`, and the exit code is 1 when V > 0.
 */
import { parseArgs } from "node:util";
import { FaultMix } from "./fault-mix.ts";
import { runSeed, type SeedResult } from "./run-seed.ts";

const TRACE_LINES = 40;

function main(): number {
  const { values } = parseArgs({
    options: {
      seeds: { type: "string", default: "100" },
      start: { type: "string", default: "1" },
      nodes: { type: "string" },
    },
  });
  const seeds = positiveInt("--seeds", values.seeds);
  const start = positiveInt("--start", values.start);
  const nodes = values.nodes === undefined ? undefined : positiveInt("--nodes", values.nodes);
  const mix = new FaultMix();
  let violations = 0;
  const began = performance.now();
  for (let seed = start; seed < start + seeds; seed++) {
    const r = runSeed(seed, nodes === undefined ? {} : { nodes });
    mix.add(r);
    if (r.violation !== undefined) {
      violations++;
      report(r, nodes);
    }
  }
  const seconds = (performance.now() - began) / 1000;
  for (const line of mix.lines()) console.log(line);
  console.log(`time: ${seconds.toFixed(1)} s (${((seconds * 1000) / seeds).toFixed(1)} ms per seed)`);
  console.log(`sim: ${seeds} seeds, ${violations} violations`);
  return violations > 0 ? 1 : 0;
}

function report(r: SeedResult, nodes: number | undefined): void {
  const v = r.violation;
  if (v === undefined) return;
  console.log(`\nseed ${r.seed}: VIOLATION ${v.message}`);
  console.log(`  profile: ${JSON.stringify(r.profile)}`);
  for (const line of v.trace.slice(-TRACE_LINES)) console.log(`  ${line}`);
  console.log(
    `  reproduce: bun run sim --seeds 1 --start ${r.seed}${nodes === undefined ? "" : ` --nodes ${nodes}`}\n`,
  );
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) {
    console.error(`${flag} must be a positive integer, got "${value}"`);
    process.exit(2);
  }
  return n;
}

process.exitCode = main();
