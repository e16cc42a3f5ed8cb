/**
 * The simulation runner: `bun run sim --level core|broker --seeds N --start S [--nodes K] [--fifo-links] [--kills]`.
 * `--kills` (broker level) adds process kills that keep the page cache, some followed by a power loss.
 * Runs seeds S..S+N-1 of one level (test/sim/levels.ts; `core` when --level is absent) and prints each violation
 * with its seed and the trace that led to it, then the mix of faults; the last line is always
 * `sim: N seeds, V violations`, and the exit code is 1 when V > 0 (2 for a bad flag).
 */
import { parseArgs } from "node:util";
import { type Level, runLevel } from "./levels.ts";

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      level: { type: "string", default: "core" },
      seeds: { type: "string", default: "100" },
      start: { type: "string", default: "1" },
      nodes: { type: "string" },
      "fifo-links": { type: "boolean", default: false },
      kills: { type: "boolean", default: false },
    },
  });
  const level = values.level;
  if (level !== "core" && level !== "broker") return usage(`--level must be core or broker, got "${level}"`);
  const seeds = positiveInt("--seeds", values.seeds);
  const start = positiveInt("--start", values.start);
  if (seeds === undefined || start === undefined) return 2;
  let nodes: number | undefined;
  if (values.nodes !== undefined) {
    nodes = positiveInt("--nodes", values.nodes);
    if (nodes === undefined) return 2;
  }
  const began = performance.now();
  const run = {
    seeds,
    start,
    fifoLinks: values["fifo-links"],
    kills: values.kills,
    ...(nodes === undefined ? {} : { nodes }),
  };
  const outcome = await runLevel(level as Level, run, (line) => console.log(line));
  const seconds = (performance.now() - began) / 1000;
  for (const line of outcome.mix) console.log(line);
  console.log(`time: ${seconds.toFixed(1)} s (${((seconds * 1000) / seeds).toFixed(1)} ms per seed)`);
  console.log(`sim: ${seeds} seeds, ${outcome.violations} violations`);
  return outcome.violations > 0 ? 1 : 0;
}

function usage(problem: string): number {
  console.error(problem);
  return 2;
}

function positiveInt(flag: string, value: string): number | undefined {
  const n = Number(value);
  if (Number.isSafeInteger(n) && n > 0) return n;
  usage(`${flag} must be a positive integer, got "${value}"`);
  return undefined;
}

process.exitCode = await main();
