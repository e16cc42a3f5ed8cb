import { expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { runChaos } from "./run.ts";

test("a 20 s chaos run on 3 brokers loses nothing and agrees everywhere", async () => {
  const result = await runChaos({ seed: 1, durationS: 20, nodes: 3, keep: false, dropAcked: false });
  // As with the cluster tests, a failed run's folder stays only when MQRAFT_KEEP asks for it.
  const kept = !result.passed && process.env.MQRAFT_KEEP !== undefined;
  if (!kept) rmSync(result.dir, { recursive: true, force: true });
  expect(kept ? `${result.summary} (kept ${result.dir})` : result.summary).toStartWith("PASS");
}, 90_000);
