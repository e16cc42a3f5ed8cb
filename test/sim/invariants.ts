/** What every checker of the simulation shares: the violation it throws, and the digest of an entry or a state. */
import type { Entry } from "../../src/raft/index.ts";

export class Violation extends Error {
  override readonly name = "Violation";
  constructor(
    readonly invariant: string,
    detail: string,
  ) {
    super(`${invariant}: ${detail}`);
  }
}

export function fail(invariant: string, detail: string): never {
  throw new Violation(invariant, detail);
}

/** FNV-1a over an entry's kind and data, chained onto `seed`: a state machine's running digest. */
export function hashEntry(seed: number, e: Entry): number {
  let h = (seed ^ 0x811c9dc5 ^ e.kind) >>> 0;
  h = Math.imul(h, 0x01000193);
  const d = e.data;
  for (let i = 0; i < d.length; i++) h = Math.imul(h ^ (d[i] as number), 0x01000193);
  return h >>> 0;
}
