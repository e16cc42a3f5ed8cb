import { expect, test } from "bun:test";
import { runFuzz, summary } from "./fuzz-cluster.ts";

/**
 * 100,000 fuzzed frames at a live broker's port and as many at a live manager's (seed 1; `bun run fuzz --seed S
 * --frames N` runs others, longer). Afterwards both still serve a publish and a subscribe, neither grew its RSS by
 * 50 MB, and every acknowledged message is as it was acknowledged.
 */
test("fuzzed frames on the broker's and the manager's port crash nothing, leak nothing, change no acknowledged message", async () => {
  const outcome = await runFuzz(1, 100_000);
  console.log(summary(outcome));
  expect(outcome.ports.map((p) => p.frames)).toEqual([100_000, 100_000]);
  expect(outcome.problems).toEqual([]);
});
