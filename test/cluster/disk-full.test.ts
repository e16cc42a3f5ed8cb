import { afterEach, describe, expect, test } from "bun:test";
import type { ClientInbound, ErrorMessage } from "../../src/wire/index.ts";
import { runMqraft } from "../support/binary.ts";
import type { TestCluster } from "../support/cluster.ts";
import { drainRaw } from "../support/raw-client.ts";
import { clusterOnSmallDisks, DISK_KINDS, SmallDisks } from "../support/small-disk.ts";
import { waitFor } from "../support/wait.ts";
import { openClient, probeStatus } from "../support/wire-probe.ts";

// Each broker's data folder is a small disk of its own (test/support/small-disk.ts): a tmpfs as root, and the test
// build's disk of a chosen size everywhere.
const MIB = 1024 * 1024;
const DISK = 24 * MIB;
const MIN_FREE = "8MiB";
const PAYLOAD = 8 * 1024;

let cluster: TestCluster | undefined;
let disks: SmallDisks | undefined;

afterEach(async () => {
  await cluster?.destroy().catch(() => undefined);
  cluster = undefined;
  disks?.cleanup();
});

const encoder = new TextEncoder();

/** Publishes `values` over one connection and returns what was acknowledged (value → offset) and what was refused. */
async function publishBatch(
  address: string,
  topic: string,
  values: string[],
): Promise<{ acked: Map<string, number>; refused: ErrorMessage[] }> {
  const { connection, received } = await openClient(address);
  try {
    for (const [id, value] of values.entries())
      connection.send({ type: "publish", id, topic, data: encoder.encode(value) });
    await waitFor(
      `${values.length} answers from ${address}`,
      () => {
        const answered = received.filter((m) => m.type === "published" || (m.type === "error" && m.id !== undefined));
        if (!connection.isOpen && answered.length < values.length)
          throw new Error(`connection closed after ${answered.length} answers`);
        return answered.length >= values.length ? true : undefined;
      },
      // answers come within milliseconds: a 50 ms poll cost more than the publishes, over some 80 batches
      { timeoutMs: 20_000, intervalMs: 5 },
    );
  } finally {
    connection.close();
  }
  const acked = new Map<string, number>();
  for (const m of received) if (m.type === "published") acked.set(values[m.id] as string, m.offset);
  return { acked, refused: received.filter((m): m is ErrorMessage => m.type === "error") };
}

function values(from: number, count: number): string[] {
  return Array.from({ length: count }, (_, i) => `${from + i}:`.padEnd(PAYLOAD, "x"));
}

/** Every acknowledged value is served by the broker at the offset it was acknowledged with. */
function missing(read: { offset: number; value: string }[], acked: Map<string, number>): string[] {
  const served = new Map(read.map((r) => [r.value, r.offset]));
  return [...acked]
    .filter(([value, offset]) => served.get(value) !== offset)
    .map(([value, offset]) => `${value.slice(0, value.indexOf(":"))}@${offset}`);
}

describe.each(DISK_KINDS)("a full disk is an alarm, not a crash (%s)", (kind) => {
  test("three brokers whose disks fill together: DISK_FULL, reads go on, status shows the alarm; a larger disk clears it and publishing resumes with nothing acknowledged lost", async () => {
    const small = new SmallDisks(kind);
    disks = small;
    cluster = await clusterOnSmallDisks(small, {
      nodes: 3,
      argsFor: () => ["--min-free-space", MIN_FREE, "--segment-bytes", "1MiB"],
    });
    for (const b of cluster.brokers) small.give(b.dataDir, DISK);
    for (const b of cluster.brokers) cluster.start(b.id);
    const first = cluster.broker(await cluster.waitForLeader());

    // a live subscriber from the start: it must keep receiving while publishes are refused
    const sub = await openClient(first.address);
    sub.connection.send({ type: "subscribe", id: 1, topics: ["fill"], from: "earliest" });
    const delivered = () =>
      sub.received.filter((m): m is Extract<ClientInbound, { type: "message" }> => m.type === "message");

    const other = await publishBatch(first.address, "other", ["a", "b", "c"]);
    expect(other.acked.size).toBe(3);
    const acked = new Map<string, number>();
    let refusal: ErrorMessage | undefined;
    const alarms = async () =>
      Promise.all(
        cluster?.brokers.map(
          async (b) => (await probeStatus(b.address))?.nodes.find((n) => n.id === b.id)?.diskAlarm,
        ) ?? [],
      );
    // 24 MiB disks and an 8 MiB reserve: the alarm comes after about 16 MiB, some 2,000 messages. A leader whose
    // alarm rises first hands leadership to a broker that may still have room (disk-handoff.ts): follow it, until
    // every disk is full and the leader refuses.
    let address = first.address;
    for (let next = 0; next < 6000; next += 64) {
      const r = await publishBatch(address, "fill", values(next, 64));
      for (const [v, o] of r.acked) acked.set(v, o);
      const moved = r.refused.find((e) => e.code === "NOT_LEADER" && e.leader !== undefined);
      if (moved?.leader !== undefined) address = moved.leader;
      const unexpected = r.refused.filter((e) => !["DISK_FULL", "NOT_LEADER", "UNAVAILABLE"].includes(e.code));
      expect(unexpected).toEqual([]);
      refusal = r.refused.find((e) => e.code === "DISK_FULL");
      if (refusal !== undefined && (await alarms()).every((a) => a === true)) break;
    }
    if (refusal === undefined) throw new Error(`no DISK_FULL after ${acked.size} messages\n${cluster.tails()}`);
    expect(refusal.message).toMatch(
      /^broker \d \(127\.0\.0\.1:\d+\) has [0-9.]+ MiB free in \S+, below its minimum of 8\.0 MiB: publishing is refused until space is freed$/,
    );
    expect(acked.size).toBeGreaterThan(500);
    expect(await alarms()).toEqual([true, true, true]);

    // every broker full: the leader stays (each declines to take over), refuses, and every broker serves. A handoff
    // asked for just before the last alarm rose (each broker checks its disk on a timer) may still complete: its new
    // leader is then the one that must refuse, and stay to the end of the test
    let leaderId = await cluster.waitForLeader();
    let again = await publishBatch(cluster.broker(leaderId).address, "fill", values(10_000, 1));
    if (again.refused[0]?.code === "NOT_LEADER") {
      leaderId = await cluster.waitForLeader(10_000, leaderId);
      again = await publishBatch(cluster.broker(leaderId).address, "fill", values(10_000, 1));
    }
    const leader = cluster.broker(leaderId);
    expect(again.refused.map((e) => e.code)).toEqual(["DISK_FULL"]);
    expect(again.refused[0]?.message).toContain(`broker ${leaderId} (${leader.address}) has `);
    await waitFor("the subscriber to have every acknowledged message", () =>
      delivered().length >= acked.size ? true : undefined,
    );
    for (const b of cluster.brokers) expect(missing(await drainRaw(b.address, "fill"), acked)).toEqual([]);
    const status = await probeStatus(leader.address);
    const own = status?.nodes.find((n) => n.id === leaderId);
    expect(own?.diskAlarm).toBe(true);
    expect(own?.diskFreeBytes ?? Number.POSITIVE_INFINITY).toBeLessThan(8 * 1024 * 1024);
    expect(cluster.running().map((b) => b.id)).toEqual([1, 2, 3]);
    // what frees space or only moves a position goes on: a purge, a durable subscription and its ack
    const purge = await runMqraft(["topic", "purge", "other", "--server", leader.address]);
    expect({ code: purge.code, stderr: purge.stderr }).toEqual({ code: 0, stderr: "" });
    const durable = await openClient(leader.address);
    try {
      durable.connection.send({ type: "subscribe", id: 1, topics: ["fill"], from: "earliest", durable: "d1" });
      durable.connection.send({ type: "ack", id: 2, durable: "d1", topic: "fill", offset: 0 });
      const answers = await waitFor("the durable subscription and its ack to be answered", () => {
        const answered = durable.received.filter((m) => "id" in m && (m.id === 1 || m.id === 2));
        return answered.length === 2 ? answered.map((m) => m.type).sort() : undefined;
      });
      expect(answers).toEqual(["ok", "subscribed"]);
    } finally {
      durable.connection.close();
    }

    for (const b of cluster.brokers) small.resize(b.dataDir, 64 * MIB);
    const resumed = await waitFor(
      "a publish accepted once the disks are larger",
      async () => {
        const r = await publishBatch(leader.address, "fill", values(20_000, 1));
        return r.acked.size === 1 ? r.acked : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100 },
    );
    for (const [v, o] of resumed) acked.set(v, o);
    const after = await publishBatch(leader.address, "fill", values(30_000, 100));
    expect(after.refused).toEqual([]);
    for (const [v, o] of after.acked) acked.set(v, o);

    for (const b of cluster.brokers) expect(missing(await drainRaw(b.address, "fill"), acked)).toEqual([]);
    const log = cluster.log(leaderId);
    expect(log.match(/Disk alarm raised/g)?.length).toBe(1);
    expect(log.match(/Disk alarm cleared/g)?.length).toBe(1);
    expect((await probeStatus(leader.address))?.nodes.find((n) => n.id === leaderId)?.diskAlarm).toBe(false);
    sub.connection.close();
  }, 120_000);

  test("one broker's disk full: the other two keep accepting publishes; the full one rides out ENOSPC (it stays up, its status shows the alarm) and catches up once it has room", async () => {
    const small = new SmallDisks(kind);
    disks = small;
    cluster = await clusterOnSmallDisks(small, {
      nodes: 3,
      argsFor: () => ["--min-free-space", MIN_FREE, "--segment-bytes", "1MiB"],
    });
    const full = cluster.broker(3);
    small.give(full.dataDir, DISK);
    // 1 and 2 (a majority) elect a leader among themselves before 3 starts, so 3 is a follower
    cluster.start(1);
    cluster.start(2);
    const leaderId = await cluster.waitForLeader();
    cluster.start(3);
    expect(leaderId).not.toBe(3);
    const proc = full.proc;
    if (proc === undefined) throw new Error("broker 3 never started");

    // about 40 MiB: far past broker 3's 24 MiB disk, so it appends into its reserve until a write fails with ENOSPC
    const acked = new Map<string, number>();
    for (let next = 0; next < 5000; next += 100) {
      const r = await publishBatch(cluster.broker(leaderId).address, "fill", values(next, 100));
      expect(r.refused).toEqual([]);
      for (const [v, o] of r.acked) acked.set(v, o);
    }
    expect(acked.size).toBe(5000);
    await waitFor("broker 3 to hit ENOSPC", () => (cluster?.log(3).includes("(ENOSPC)") ? true : undefined), {
      timeoutMs: 20_000,
    });
    const own = await waitFor(
      "broker 3, up after ENOSPC, to show its alarm in status",
      async () => {
        if (proc.exitCode !== null) throw new Error(`broker 3 exited (code ${proc.exitCode})\n${cluster?.tails()}`);
        const row = (await probeStatus(full.address))?.nodes.find((n) => n.id === 3);
        return row?.diskAlarm === true ? row : undefined;
      },
      { timeoutMs: 10_000 },
    );
    expect(own.diskFreeBytes ?? Number.POSITIVE_INFINITY).toBeLessThan(8 * MIB);
    expect(cluster.log(3)).toContain(`Reopened ${full.dataDir} after ENOSPC`);

    small.resize(full.dataDir, 128 * MIB);
    // caught up once it applied what the leader had committed; the drains below then read every message once
    // (draining all 40 MiB at every poll cost more than the catching up)
    await cluster.waitForCaughtUp(3, 30_000);
    for (const b of cluster.brokers) expect(missing(await drainRaw(b.address, "fill"), acked)).toEqual([]);
    // the same process all along: never restarted, never stopped
    expect({ exitCode: proc.exitCode, sameProcess: full.proc === proc }).toEqual({ exitCode: null, sameProcess: true });
    const log = cluster.log(3);
    expect(log).toContain("Disk alarm cleared");
    expect(log).not.toContain("INTERNAL");
    expect(log).not.toContain("Stopping");
  }, 120_000);
});
