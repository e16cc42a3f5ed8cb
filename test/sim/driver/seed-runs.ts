import { Violation } from "../invariants.ts";

/** What every seed runner returns (run-driver-seed.ts, run-group-seed.ts). */
interface SeedRun<S> {
  stats: S;
  violation?: { invariant: string; message: string; trace: string[] } | undefined;
}

/**
 * Runs seeds `start` to `start + count - 1` one after the other: the sum of the `keys` of their stats, and each
 * violation with its seed and the end of its trace (`traceLines` lines).
 */
export async function runSeeds<S, K extends keyof S & string>(
  run: (seed: number) => Promise<SeedRun<S>>,
  keys: readonly K[],
  count: number,
  start = 1,
  traceLines = 40,
): Promise<{ totals: Record<K, number>; failures: string[] }> {
  const totals = Object.fromEntries(keys.map((k) => [k, 0])) as Record<K, number>;
  const failures: string[] = [];
  for (let seed = start; seed < start + count; seed++) {
    const r = await run(seed);
    for (const key of keys) totals[key] += Number(r.stats[key]);
    if (r.violation !== undefined)
      failures.push(
        `seed ${seed}: ${r.violation.invariant}: ${r.violation.message}\n${r.violation.trace.slice(-traceLines).join("\n")}`,
      );
  }
  return { totals, failures };
}

/** The invariant `action` breaks (a checker fed one defect), "no violation" when it breaks none. */
export function violationOf(action: () => void): string {
  try {
    action();
    return "no violation";
  } catch (e) {
    return e instanceof Violation ? e.invariant : String(e);
  }
}
