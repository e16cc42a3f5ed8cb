import { describe, expect, test } from "bun:test";
import type { Command } from "../../src/broker/commands.ts";
import { ALARM_BUDGET_COMMANDS, alarmBudgetBytes } from "../../src/node/alarm-budget.ts";
import { DiskAlarm } from "../../src/node/disk-alarm.ts";
import type { FreeSpace } from "../../src/node/free-space.ts";
import type { RaftDriver } from "../../src/node/raft-driver.ts";
import { ReplicatedBroker } from "../../src/node/replicated-broker.ts";
import { MqraftError } from "../../src/util/errors.ts";
import type { Logger } from "../../src/util/log.ts";

const MIB = 1024 * 1024;
const quiet: Logger = { error() {}, warn() {}, info() {}, debug() {}, trace() {}, enabled: () => false };

function alarmWith(space: { current: FreeSpace }, minFree: number): DiskAlarm {
  return new DiskAlarm(
    () => space.current,
    minFree,
    () => "broker 2 (127.0.0.1:8001)",
    "/data/2",
    quiet,
  );
}

/** Admits commands of `type`, `bytes` each, until one is refused; returns how many were admitted and the refusal. */
function fill(alarm: DiskAlarm, type: string, bytes: number): { admitted: number; refusal: MqraftError | undefined } {
  for (let admitted = 0; admitted <= ALARM_BUDGET_COMMANDS; admitted++) {
    const refusal = alarm.admit(type, bytes);
    if (refusal !== undefined) return { admitted, refusal };
  }
  return { admitted: ALARM_BUDGET_COMMANDS + 1, refusal: undefined };
}

describe("commands other than publishes under the disk alarm", () => {
  test("without the alarm every command is admitted, however many", () => {
    const alarm = alarmWith({ current: { freeBytes: 100 * MIB, totalBytes: 1000 * MIB } }, 64 * MIB);
    alarm.check();
    expect(fill(alarm, "ack", 100).admitted).toBe(ALARM_BUDGET_COMMANDS + 1);
  });

  test("under it, acks stop at nine tenths of the command budget with DISK_FULL; purges, retention changes and removals still pass until the whole budget is used; a new alarm starts with a full budget", () => {
    const space = { current: { freeBytes: 10 * MIB, totalBytes: 1000 * MIB } };
    const alarm = alarmWith(space, 64 * MIB);
    alarm.check();
    const acks = fill(alarm, "ack", 100);
    expect(acks.admitted).toBe(ALARM_BUDGET_COMMANDS * 0.9);
    expect(acks.refusal?.code).toBe("DISK_FULL");
    expect(acks.refusal?.message).toBe(
      "broker 2 (127.0.0.1:8001) has 10.0 MiB free in /data/2, below its minimum of 64.0 MiB: the 9000 commands (878.9 KiB) allowed under the disk alarm are used up; until space is freed only purges, retention changes and durable subscription removals are taken",
    );
    expect(alarm.admit("subscribe", 100)?.code).toBe("DISK_FULL");
    expect(alarm.refusedCommands).toBe(2);
    const freeing: Command["type"][] = ["purge", "config", "unsubscribe"];
    for (const type of freeing) expect(alarm.admit(type, 100)).toBeUndefined();
    expect(fill(alarm, "purge", 100).admitted).toBe(ALARM_BUDGET_COMMANDS * 0.1 - freeing.length);

    space.current = { freeBytes: 200 * MIB, totalBytes: 1000 * MIB };
    alarm.check();
    expect(alarm.admit("ack", 100)).toBeUndefined();
    space.current = { freeBytes: 10 * MIB, totalBytes: 1000 * MIB };
    alarm.check();
    expect(alarm.raised).toBe(true);
    expect(fill(alarm, "ack", 100).admitted).toBe(ALARM_BUDGET_COMMANDS * 0.9);
  });

  test("the budget is bounded by bytes too: a sixteenth of the minimum", () => {
    const alarm = alarmWith({ current: { freeBytes: MIB, totalBytes: 1000 * MIB } }, 16 * MIB);
    alarm.check();
    expect(alarmBudgetBytes(16 * MIB)).toBe(MIB);
    // 0.9 MiB for ordinary commands: 9 of 100 KiB each
    expect(fill(alarm, "subscribe", 100 * 1024).admitted).toBe(9);
    expect(alarmBudgetBytes(10_000 * MIB)).toBe(16 * MIB);
  });
});

describe("the replicated broker's gates", () => {
  const noDriver = (): RaftDriver => {
    throw new Error("nothing may be proposed past a gate that refused");
  };
  const refusal = new MqraftError("DISK_FULL", "broker 2 has 1 MiB free");

  test("a publish refused by the write gate is answered with the refusal and counted in the publish results", () => {
    const broker = new ReplicatedBroker(
      noDriver,
      () => undefined,
      () => 0,
      (fn) => fn(),
      {},
      () => {},
    );
    broker.writeGate = () => refusal;
    const answers: unknown[] = [];
    broker.publish({ topic: "t", data: new Uint8Array(3) }, (outcome) => answers.push(outcome));
    broker.publish({ topic: "t", data: new Uint8Array(3) }, (outcome) => answers.push(outcome));
    expect(answers).toEqual([refusal, refusal]);
    expect(broker.batcher.metrics.results.get("DISK_FULL")).toBe(2);
  });

  test("a command refused by the command gate is rejected with the refusal, given its type and encoded size", async () => {
    const broker = new ReplicatedBroker(
      noDriver,
      () => undefined,
      () => 0,
      (fn) => fn(),
      {},
      () => {},
    );
    const asked: [string, number][] = [];
    broker.commandGate = (type, bytes) => {
      asked.push([type, bytes]);
      return refusal;
    };
    const result = broker.propose({ type: "ack", time: 0, name: "d", topic: "t", offset: 1 });
    await expect(result).rejects.toBe(refusal);
    expect(asked.length).toBe(1);
    expect(asked[0]?.[0]).toBe("ack");
    expect(asked[0]?.[1]).toBeGreaterThan(10);
  });
});
