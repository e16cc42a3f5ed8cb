/**
 * A broken invariant inside the driver's loop stops the broker as what it is (a bug in mqraft), not as a disk that
 * cannot persist the log: the operator must not go looking for a disk fault.
 */
import { expect, test } from "bun:test";
import { BrokerAssembly } from "../../src/node/broker-assembly.ts";
import type { Clock } from "../../src/node/clock.ts";
import { SimFs } from "../../src/storage/sim-fs.ts";
import { AssertionError } from "../../src/util/assert.ts";
import { MqraftError } from "../../src/util/errors.ts";
import type { Logger } from "../../src/util/log.ts";
import { createPrng } from "../../src/util/prng.ts";

test("an assertion failing while entries are applied is logged and handed on as a broken invariant", async () => {
  const errors: string[] = [];
  const log: Logger = {
    error: (line: string) => errors.push(line),
    warn() {},
    info() {},
    debug() {},
    trace() {},
    enabled: () => false,
  };
  const later: (() => void)[] = [];
  const clock: Clock = {
    now: () => 0,
    after: (_ms, fn) => {
      later.push(fn);
      return () => {};
    },
    every: () => () => {},
  };
  const stopped: unknown[] = [];
  const assembly = await BrokerAssembly.open({
    id: 1,
    fs: new SimFs(),
    dataDir: "/data/1",
    clock,
    transport: { send: () => {} },
    prng: createPrng(1),
    log,
    founders: [{ id: 1, address: "127.0.0.1:8001" }],
    heartbeatMs: 100,
    raft: { electionTicks: 10, heartbeatTicks: 1 },
    snapshotEvery: 1000,
    retention: {},
    fatal: (e: unknown) => stopped.push(e),
    observer: {
      applying: () => {
        throw new AssertionError("invariant broken: planted by the test");
      },
    },
  });
  // the only voter leads at its first tick and applies its no-op, where the planted assertion fails
  for (let i = 0; i < 20 && stopped.length === 0; i++) {
    assembly.tick();
    for (let k = 0; k < 20 && later.length > 0; k++) {
      for (const fn of later.splice(0)) fn();
      await Bun.sleep(0);
    }
  }
  await assembly.stop();
  expect(
    stopped.map((e) => (e instanceof MqraftError ? `${e.code}: ${e.message} (cause: ${(e.cause as Error).name})` : e)),
  ).toEqual(["INTERNAL: invariant broken: planted by the test (cause: AssertionError)"]);
  expect(errors).toEqual([
    "Stopping: invariant broken: planted by the test (a bug in mqraft; please report it with this log)",
  ]);
});
