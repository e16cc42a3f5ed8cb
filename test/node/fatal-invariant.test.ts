/**
 * A broken invariant inside the driver's loop stops the broker as what it is (a bug in mqraft), not as a disk that
 * cannot persist the log: the operator must not go looking for a disk fault.
 */
import { expect, test } from "bun:test";
import { BrokerAssembly } from "../../src/node/broker-assembly.ts";
import { AssertionError } from "../../src/util/assert.ts";
import { MqraftError } from "../../src/util/errors.ts";
import type { Logger } from "../../src/util/log.ts";
import { simAssembly } from "../support/sim-assembly.ts";

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
  const stopped: unknown[] = [];
  const { options, later } = simAssembly([1], { log, fatal: (e: unknown) => void stopped.push(e) });
  const assembly = await BrokerAssembly.open({
    ...options,
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
