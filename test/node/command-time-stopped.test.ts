/**
 * The time an assembly stamps on a command must not depend on its store being open: a request that reaches a broker
 * while a disk-full reopen has stopped its assembly (the store closed) is answered with an error, never by an
 * exception thrown out of the clock (group-simulation seeds 666, 799 and 1902: "storage in /data is closed").
 */
import { expect, test } from "bun:test";
import { BrokerAssembly } from "../../src/node/broker-assembly.ts";
import { simAssembly } from "../support/sim-assembly.ts";

const T0 = 1_700_000_000_000;

test("a stopped assembly stamps a command without reading its closed store", async () => {
  const assembly = await BrokerAssembly.open(simAssembly([1, 2, 3], { now: T0 }).options);
  await assembly.stop();
  // the first command of a term anchors the clock: that anchor must not read the log of a closed store
  expect(assembly.commandTime()).toBe(T0);
});
