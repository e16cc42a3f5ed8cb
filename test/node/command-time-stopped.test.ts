/**
 * The time an assembly stamps on a command must not depend on its store being open: a request that reaches a broker
 * while a disk-full reopen has stopped its assembly (the store closed) is answered with an error, never by an
 * exception thrown out of the clock (group-simulation seeds 666, 799 and 1902: "storage in /data is closed").
 */
import { expect, test } from "bun:test";
import { BrokerAssembly } from "../../src/node/broker-assembly.ts";
import type { Clock } from "../../src/node/clock.ts";
import { SimFs } from "../../src/storage/sim-fs.ts";
import { createPrng } from "../../src/util/prng.ts";
import { recordingLog } from "../support/recording-log.ts";

const T0 = 1_700_000_000_000;

test("a stopped assembly stamps a command without reading its closed store", async () => {
  const clock: Clock = { now: () => T0, after: () => () => {}, every: () => () => {} };
  const assembly = await BrokerAssembly.open({
    id: 1,
    fs: new SimFs(),
    dataDir: "/data/1",
    clock,
    transport: { send: () => {} },
    prng: createPrng(1),
    log: recordingLog([]),
    founders: [1, 2, 3].map((id) => ({ id, address: `127.0.0.1:${8000 + id}` })),
    heartbeatMs: 100,
    raft: { electionTicks: 10, heartbeatTicks: 1 },
    snapshotEvery: 1000,
    retention: {},
    fatal: () => {},
  });
  await assembly.stop();
  // the first command of a term anchors the clock: that anchor must not read the log of a closed store
  expect(assembly.commandTime()).toBe(T0);
});
