import { describe, expect, test } from "bun:test";
import { DiskAlarm } from "../../src/node/disk-alarm.ts";
import { DiskGuard, persistenceFailure } from "../../src/node/disk-guard.ts";
import { defaultMinFreeBytes, type FreeSpace } from "../../src/node/free-space.ts";
import { EntryKind, type Message } from "../../src/raft/index.ts";
import { MqraftError } from "../../src/util/errors.ts";
import { recordingLog } from "../support/recording-log.ts";

const MIB = 1024 * 1024;
const GIB = 1024 * MIB;

function alarmOn(space: { current: FreeSpace | Error }, minFree: number | undefined, lines: string[]): DiskAlarm {
  const probe = (): FreeSpace => {
    if (space.current instanceof Error) throw space.current;
    return space.current;
  };
  return new DiskAlarm(probe, minFree, () => "broker 2 (127.0.0.1:8001)", "/data/2", recordingLog(lines));
}

describe("the disk alarm", () => {
  test("raised below the minimum, refusing with DISK_FULL naming the broker and the free space, each transition logged once", () => {
    const lines: string[] = [];
    const space = { current: { freeBytes: 100 * MIB, totalBytes: 10 * GIB } as FreeSpace | Error };
    const alarm = alarmOn(space, 64 * MIB, lines);
    alarm.check();
    expect(alarm.raised).toBe(false);
    expect(alarm.refusal()).toBeUndefined();

    space.current = { freeBytes: 63 * MIB, totalBytes: 10 * GIB };
    alarm.check();
    alarm.check();
    expect(alarm.raised).toBe(true);
    const refusal = alarm.refusal();
    expect(refusal?.code).toBe("DISK_FULL");
    expect(refusal?.message).toBe(
      "broker 2 (127.0.0.1:8001) has 63.0 MiB free in /data/2, below its minimum of 64.0 MiB: publishing is refused until space is freed",
    );

    // at the minimum again but within the margin (5 %, at least 1 MiB): still raised, so a disk at the line does not flap
    space.current = { freeBytes: 64 * MIB + MIB / 2, totalBytes: 10 * GIB };
    alarm.check();
    expect(alarm.raised).toBe(true);

    space.current = { freeBytes: 70 * MIB, totalBytes: 10 * GIB };
    alarm.check();
    alarm.check();
    expect(alarm.raised).toBe(false);
    expect(alarm.refusal()).toBeUndefined();
    expect(lines).toEqual([
      "warn Disk alarm raised: 63.0 MiB free in /data/2, below the minimum of 64.0 MiB (--min-free-space): publishes are refused until space is freed (retention, mqraft topic purge, a larger disk)",
      "info Disk alarm cleared: 70.0 MiB free in /data/2; publishing resumes",
    ]);
  });

  test("the default minimum is 1 GiB, or 5 % of a smaller disk", () => {
    expect(defaultMinFreeBytes(100 * GIB)).toBe(GIB);
    expect(defaultMinFreeBytes(10 * GIB)).toBe(Math.floor(0.5 * GIB));
    const lines: string[] = [];
    const alarm = alarmOn({ current: { freeBytes: 40 * MIB, totalBytes: 1000 * MIB } }, undefined, lines);
    alarm.check();
    expect(alarm.minFreeBytes).toBe(50 * MIB);
    expect(alarm.raised).toBe(true);
  });

  test("a probe that fails keeps the alarm as it was and is logged once", () => {
    const lines: string[] = [];
    const space = { current: { freeBytes: 1 * MIB, totalBytes: GIB } as FreeSpace | Error };
    const alarm = alarmOn(space, 10 * MIB, lines);
    alarm.check();
    expect(alarm.raised).toBe(true);
    space.current = Object.assign(new Error("EIO: statfs"), { code: "EIO" });
    alarm.check();
    alarm.check();
    expect(alarm.raised).toBe(true);
    expect(lines.filter((l) => l.includes("Cannot read the free space"))).toEqual([
      "warn Cannot read the free space of /data/2: EIO: statfs",
    ]);
  });
});

describe("after ENOSPC", () => {
  test("the alarm is raised whatever the last check read, logged once, and stays until the minimum plus its margin is free", () => {
    const lines: string[] = [];
    const space = { current: { freeBytes: 100 * MIB, totalBytes: GIB } as FreeSpace | Error };
    const alarm = alarmOn(space, 8 * MIB, lines);
    alarm.check();
    expect(alarm.raised).toBe(false);
    alarm.noSpace();
    alarm.noSpace();
    expect({ raised: alarm.raised, full: alarm.full }).toEqual({ raised: true, full: true });
    expect(alarm.refusal()?.code).toBe("DISK_FULL");
    space.current = { freeBytes: 8 * MIB + MIB / 2, totalBytes: GIB };
    alarm.check();
    expect({ raised: alarm.raised, full: alarm.full }).toEqual({ raised: true, full: true });
    space.current = { freeBytes: 20 * MIB, totalBytes: GIB };
    alarm.check();
    expect({ raised: alarm.raised, full: alarm.full }).toEqual({ raised: false, full: false });
    expect(lines).toEqual([
      "warn The disk of /data/2 is full (ENOSPC): this broker reopens its data folder at its last durable state and takes no entries from the leader until space is freed (retention, mqraft topic purge, a larger disk)",
      "info Disk alarm cleared: 20.0 MiB free in /data/2; publishing resumes",
    ]);
  });

  test("a broker takes no entries (appends that carry some, snapshot chunks) until space returns; heartbeats, votes and empty appends go on", () => {
    const space = { current: { freeBytes: 0, totalBytes: GIB } as FreeSpace | Error };
    const guard = new DiskGuard({
      id: 2,
      dataDir: "/data/2",
      log: recordingLog([]),
      electionTicks: 10,
      freeSpace: () => space.current as FreeSpace,
      minFreeBytes: 8 * MIB,
      alarm: undefined,
      driver: () => {
        throw new Error("not needed");
      },
      addressOf: (id) => `node ${id}`,
    });
    const entry = { index: 5, term: 2, kind: EntryKind.Normal, data: new Uint8Array(10) };
    const append: Message = {
      type: "append",
      from: 1,
      to: 2,
      term: 2,
      index: 4,
      logTerm: 2,
      entries: [entry],
      commit: 3,
    };
    const empty: Message = { ...append, entries: [] };
    const heartbeat: Message = {
      type: "heartbeat",
      from: 1,
      to: 2,
      term: 2,
      commit: 3,
      cluster: { membership: { voters: [1, 2, 3], learners: [], addresses: {} }, reachable: [1, 2, 3] },
    };
    const vote: Message = { type: "vote", from: 3, to: 2, term: 3, lastIndex: 9, lastTerm: 2, transfer: false };
    const admitted = () => [append, empty, heartbeat, vote].map((m) => guard.admits(m));
    // the alarm alone does not stop a follower from appending into its reserve
    guard.alarm.check();
    expect(guard.alarm.raised).toBe(true);
    expect(admitted()).toEqual([true, true, true, true]);
    guard.alarm.noSpace();
    expect(admitted()).toEqual([false, true, true, true]);
    space.current = { freeBytes: 100 * MIB, totalBytes: GIB };
    guard.alarm.check();
    expect(admitted()).toEqual([true, true, true, true]);
  });
});

describe("a persistence failure as the operator sees it", () => {
  const enospc = Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC" });

  test("ENOSPC, also behind the store's 'failed earlier', is DISK_FULL saying what to do; anything else INTERNAL", () => {
    const direct = persistenceFailure(enospc, "mqraft-data/2");
    expect(direct.code).toBe("DISK_FULL");
    expect(direct.message).toContain("the disk of mqraft-data/2 is full (ENOSPC): free space there");
    const wrapped = new MqraftError("INTERNAL", "storage in mqraft-data/2 failed earlier and must be reopened", {
      cause: enospc,
    });
    expect(persistenceFailure(wrapped, "mqraft-data/2").code).toBe("DISK_FULL");
    const eio = Object.assign(new Error("EIO: i/o error, fdatasync"), { code: "EIO" });
    expect(persistenceFailure(eio, "mqraft-data/2").code).toBe("INTERNAL");
  });
});
