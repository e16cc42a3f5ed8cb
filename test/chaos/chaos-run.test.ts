import { rmSync } from "node:fs";
import { expect, test } from "bun:test";
import { runChaos } from "./run.ts";

test("a 20 s chaos run on 3 brokers loses nothing and agrees everywhere", async () => {
  const result = await runChaos({ seed: 1, durationS: 20, nodes: 3, keep: false, dropAcked: false });
  // The summary names the violations; the kept folder holds the rest.
  expect(result.passed ? result.summary : `${result.summary} (kept ${result.dir})`).toStartWith("PASS");
  rmSync(result.dir, { recursive: true, force: true });
}, 90_000);
