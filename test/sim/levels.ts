/**
 * The two levels of the simulation behind one runner (test/sim/run.ts): `core` runs the Raft core alone, many nodes
 * per seed (test/sim/run-seed.ts); `broker` runs production's broker assembly with its store on simulated disks
 * (test/sim/driver/run-driver-seed.ts). Both print their violations with the seed and the trace that led there.
 */
import { DriverMix } from "./driver/driver-mix.ts";
import { type DriverSeedOptions, runDriverSeed } from "./driver/run-driver-seed.ts";
import { FaultMix } from "./fault-mix.ts";
import { runSeed } from "./run-seed.ts";

export type Level = "core" | "broker";

export interface LevelRun {
  seeds: number;
  start: number;
  nodes?: number;
  /** Broker level: every run on TCP-like links, as in `make test`. */
  fifoLinks?: boolean;
  /** Broker level: process kills that keep the page cache, as drawn (test/sim/fault-injector.ts). */
  kills?: boolean;
}

export interface LevelOutcome {
  violations: number;
  /** The mix of faults and activity over the runs, one line each. */
  mix: string[];
}

const CORE_TRACE = 40;
const BROKER_TRACE = 60;

export async function runLevel(level: Level, run: LevelRun, print: (line: string) => void): Promise<LevelOutcome> {
  return level === "core" ? runCore(run, print) : runBroker(run, print);
}

function runCore(run: LevelRun, print: (line: string) => void): LevelOutcome {
  const mix = new FaultMix();
  let violations = 0;
  const nodes = run.nodes === undefined ? "" : ` --nodes ${run.nodes}`;
  for (let seed = run.start; seed < run.start + run.seeds; seed++) {
    const r = runSeed(seed, run.nodes === undefined ? {} : { nodes: run.nodes });
    mix.add(r);
    const v = r.violation;
    if (v === undefined) continue;
    violations++;
    print(`\nseed ${seed}: VIOLATION ${v.message}`);
    print(`  profile: ${JSON.stringify(r.profile)}`);
    for (const line of v.trace.slice(-CORE_TRACE)) print(`  ${line}`);
    print(`  reproduce: bun run sim --level core --seeds 1 --start ${seed}${nodes}\n`);
  }
  return { violations, mix: mix.lines() };
}

async function runBroker(run: LevelRun, print: (line: string) => void): Promise<LevelOutcome> {
  const options: DriverSeedOptions = { fifoLinks: run.fifoLinks ?? false, kills: run.kills ?? false };
  if (run.nodes !== undefined) options.nodes = run.nodes;
  const flags = `${run.nodes === undefined ? "" : ` --nodes ${run.nodes}`}${run.fifoLinks ? " --fifo-links" : ""}${run.kills ? " --kills" : ""}`;
  const mix = new DriverMix();
  let violations = 0;
  let seed = run.start;
  // Seeds run one at a time and settle every promise before the next, so a stray rejection belongs to this seed.
  const stray = (e: unknown): void => {
    violations++;
    print(`\nseed ${seed}: VIOLATION unhandled rejection: ${e instanceof Error ? e.stack : String(e)}`);
  };
  process.on("unhandledRejection", stray);
  try {
    for (; seed < run.start + run.seeds; seed++) {
      const r = await runDriverSeed(seed, options);
      mix.add(r);
      const v = r.violation;
      if (v === undefined) continue;
      violations++;
      print(`\nseed ${seed}: VIOLATION ${v.message}`);
      print(`  profile: ${JSON.stringify(r.profile)}`);
      for (const line of v.trace.slice(-BROKER_TRACE)) print(`  ${line}`);
      print(`  reproduce: bun run sim --level broker --seeds 1 --start ${seed}${flags}\n`);
    }
  } finally {
    process.off("unhandledRejection", stray);
  }
  return { violations, mix: mix.lines() };
}
