/**
 * The driver-level simulation runner: `bun test/sim/driver/run.ts --seeds N --start S [--nodes K] [--fifo-links]`
 * (--fifo-links: every run on TCP-like links, as in `make test`).
 * Same contract as test/sim/run.ts: each violation is printed with its seed and the trace that led
 * to it; the last line is always `sim: N seeds, V violations`, and the exit code is 1 when V > 0.
 */
import { parseArgs } from "node:util";
import { DriverMix } from "./driver-mix.ts";
import { type DriverSeedOptions, type DriverSeedResult, runDriverSeed } from "./run-driver-seed.ts";

const TRACE_LINES = 60;

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      seeds: { type: "string", default: "100" },
      start: { type: "string", default: "1" },
      nodes: { type: "string" },
      "fifo-links": { type: "boolean", default: false },
    },
  });
  const seeds = positiveInt("--seeds", values.seeds);
  const start = positiveInt("--start", values.start);
  const options: DriverSeedOptions = { fifoLinks: values["fifo-links"] };
  if (values.nodes !== undefined) options.nodes = positiveInt("--nodes", values.nodes);
  const mix = new DriverMix();
  let violations = 0;
  let seed = start;
  // Seeds run one at a time and settle every promise before the next, so a stray rejection belongs to this seed.
  process.on("unhandledRejection", (e) => {
    violations++;
    console.log(`\nseed ${seed}: VIOLATION unhandled rejection: ${e instanceof Error ? e.stack : String(e)}`);
  });
  const began = performance.now();
  for (; seed < start + seeds; seed++) {
    const r = await runDriverSeed(seed, options);
    mix.add(r);
    if (r.violation !== undefined) {
      violations++;
      report(r, options);
    }
  }
  const seconds = (performance.now() - began) / 1000;
  for (const line of mix.lines()) console.log(line);
  console.log(`time: ${seconds.toFixed(1)} s (${((seconds * 1000) / seeds).toFixed(1)} ms per seed)`);
  console.log(`sim: ${seeds} seeds, ${violations} violations`);
  return violations > 0 ? 1 : 0;
}

function report(r: DriverSeedResult, options: DriverSeedOptions): void {
  const v = r.violation;
  if (v === undefined) return;
  console.log(`\nseed ${r.seed}: VIOLATION ${v.message}`);
  console.log(`  profile: ${JSON.stringify(r.profile)}`);
  for (const line of v.trace.slice(-TRACE_LINES)) console.log(`  ${line}`);
  const flags = `${options.nodes === undefined ? "" : ` --nodes ${options.nodes}`}${options.fifoLinks ? " --fifo-links" : ""}`;
  console.log(`  reproduce: bun test/sim/driver/run.ts --seeds 1 --start ${r.seed}${flags}\n`);
}

function positiveInt(flag: string, value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n <= 0) {
    console.error(`${flag} must be a positive integer, got "${value}"`);
    process.exit(2);
  }
  return n;
}

process.exitCode = await main();
