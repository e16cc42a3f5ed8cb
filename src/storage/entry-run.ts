import type { Entry } from "../raft/log-types.ts";

/**
 * Why `entries` cannot follow an entry of term `prevTerm` in a log, or undefined when they can:
 * their indexes must be contiguous and their terms never decrease. Segment scans hold records on
 * disk to the same rule, so a run that breaks it would read back as corruption.
 */
export function runProblem(entries: readonly Entry[], prevTerm: number): string | undefined {
  const head = entries[0];
  let term = prevTerm;
  for (let k = 0; k < entries.length; k++) {
    const e = entries[k] as Entry;
    if (e.index !== (head as Entry).index + k || e.term < term) {
      return `index ${e.index} term ${e.term} after index ${(head as Entry).index + k - 1} term ${term}`;
    }
    term = e.term;
  }
  return undefined;
}
