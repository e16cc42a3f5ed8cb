import { afterEach, expect, test } from "bun:test";
import { rmSync } from "node:fs";
import { createPrng } from "../../src/util/prng.ts";
import { checkHistory } from "./checker.ts";
import { everyKind } from "./nemesis.ts";
import { dropOneAcked, type RunResult, runChaos } from "./run.ts";

const dirs: RunResult[] = [];
/** Set by a test once every expectation held. */
let passed = false;
// As with the cluster tests, a folder stays only when the test failed and MQRAFT_KEEP asks for it.
afterEach(() => {
  const keep = !passed && process.env.MQRAFT_KEEP !== undefined;
  for (const r of dirs.splice(0)) if (!keep) rmSync(r.dir, { recursive: true, force: true });
  passed = false;
});

test("every fault kind once on 3 brokers loses nothing and agrees everywhere; the same history without one acknowledged value fails as lost", async () => {
  const result = await runChaos({
    seed: 1,
    durationS: 0,
    nodes: 3,
    keep: false,
    dropAcked: false,
    faults: "each-kind",
  });
  dirs.push(result);
  console.log(result.summary);
  expect(result.summary).toStartWith("PASS");
  // each kind the nemesis has ran (the ring needs five nodes), membership twice: a join and a leave
  const expected = Object.fromEntries(
    [...new Set(everyKind(3, createPrng(1)))].map((k) => [k, k === "membership" ? 2 : 1]),
  );
  expect(result.report.faultKinds).toEqual(expected);
  const changes = result.history.flatMap((l) =>
    l.type === "fault" && l.kind === "membership" ? [l.description.replace(/ of \d+/, "").split(",")[0]] : [],
  );
  expect(changes).toEqual(["join", "leave"]);
  // --drop-acked on the same history: the checker must find the loss, and nothing else
  const sabotaged = checkHistory(dropOneAcked(result.history), { recoveryBoundMs: 15_000 });
  expect([...new Set(sabotaged.violations.map((v) => v.kind))]).toEqual(["lost"]);
  passed = true;
}, 120_000);

test("brokers that never fsync, all losing power at the end: the run fails on acknowledged messages lost, having drained", async () => {
  const result = await runChaos({
    seed: 2,
    durationS: 3,
    nodes: 3,
    keep: false,
    dropAcked: false,
    noFsync: true,
    faults: "none",
  });
  dirs.push(result);
  console.log(result.summary);
  const kinds = new Set(result.report.violations.map((v) => v.kind));
  expect({ lost: kinds.has("lost"), noDrain: kinds.has("no-drain"), drainTimeout: kinds.has("drain-timeout") }).toEqual(
    {
      lost: true,
      noDrain: false,
      drainTimeout: false,
    },
  );
  passed = true;
}, 90_000);
