import { afterEach, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { corruptOneRecord } from "../chaos/disk-faults.ts";
import { runMqraft } from "../support/binary.ts";
import { TestCluster } from "../support/cluster.ts";
import { drainRaw, publishRaw } from "../support/raw-client.ts";
import { waitFor } from "../support/wait.ts";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

/**
 * Publishes `rounds` batches of `perRound` values to `topic` through the leader, waits until a follower has applied
 * them all, and stops that follower with SIGTERM: a stopped broker whose files a test may then damage.
 */
async function fillAndStopFollower(
  c: TestCluster,
  topic: string,
  rounds: number,
  perRound: number,
  value: (round: number, i: number) => string,
) {
  const leader = await c.waitForLeader();
  const victim = c.brokers.find((b) => b.id !== leader)!;
  const values: string[] = [];
  for (let round = 0; round < rounds; round++) {
    const batch = Array.from({ length: perRound }, (_, i) => value(round, i));
    await publishRaw(c.broker(leader).address, topic, batch);
    values.push(...batch);
  }
  await waitFor("the victim to apply everything", async () =>
    (await drainRaw(victim.address, topic)).length === values.length ? true : undefined,
  );
  await c.stop(victim.id, "SIGTERM");
  return { victim, values };
}

/** What `address` serves of `topic`, once it serves `count` messages. */
function servedOnceWhole(address: string, topic: string, count: number) {
  return waitFor(
    "the repaired broker to serve every message again",
    async () => {
      const got = await drainRaw(address, topic);
      return got.length === count ? got : undefined;
    },
    { timeoutMs: 20_000 },
  );
}

describe("a corrupt record in an older segment", () => {
  test("stops the broker with an error naming file and offset; with --repair it catches up from the leader and serves everything", async () => {
    cluster = await TestCluster.create({ nodes: 3, argsFor: () => ["--segment-bytes", "4KiB"] });
    const { victim, values } = await fillAndStopFollower(
      cluster,
      "repair",
      20,
      20,
      (round, i) => `r${round}-${i}-${"x".repeat(40)}`,
    );
    const segments = readdirSync(join(victim.dataDir, "log"))
      .filter((f) => f.endsWith(".seg"))
      .sort();
    expect(segments.length).toBeGreaterThan(2);
    const oldest = join(victim.dataDir, "log", segments[0] as string);
    const bytes = readFileSync(oldest);
    const at = Math.floor(bytes.length / 2);
    bytes[at] = (bytes[at] as number) ^ 0x10;
    writeFileSync(oldest, bytes);

    const inspect = await runMqraft(["inspect", victim.dataDir]);
    expect(inspect.code).toBe(1);
    expect(inspect.stdout).toContain(segments[0] as string);

    cluster.start(victim.id);
    const exited = await victim.proc!.exited;
    expect(exited).toBe(1);
    const log = cluster.log(victim.id);
    expect(log).toContain("CORRUPT");
    expect(log).toContain(segments[0] as string);

    victim.extraArgs.push("--repair");
    cluster.start(victim.id);
    await waitFor("the repaired broker to warn that it will not vote", () =>
      cluster!.log(victim.id).includes("will not vote or lead") ? true : undefined,
    );
    const served = await servedOnceWhole(victim.address, "repair", values.length);
    expect(served.map((m) => m.value)).toEqual(values);
    expect((await runMqraft(["inspect", victim.dataDir])).stdout).not.toContain("BAD");
  });

  test("below the broker's own snapshot: --repair drops the snapshot with the cut entries, and the broker gets every message back", async () => {
    // One segment, snapshots every 10 entries: the snapshot's retained messages live in entries below its index.
    cluster = await TestCluster.create({ nodes: 3, argsFor: () => ["--snapshot-every", "10"] });
    const { victim, values } = await fillAndStopFollower(cluster, "below", 40, 10, (round, i) => `s${round}-${i}`);
    const snapshotIndex = Number(
      /snapshot: index (\d+)/.exec((await runMqraft(["inspect", victim.dataDir])).stdout)?.[1],
    );
    expect(snapshotIndex).toBeGreaterThan(20);
    expect(corruptOneRecord(victim.dataDir, 1, snapshotIndex - 10)).toStartWith("flipped byte");

    victim.extraArgs.push("--repair");
    cluster.start(victim.id);
    await waitFor("the repaired broker to say it dropped its snapshot", () =>
      cluster!.log(victim.id).includes(`The snapshot at index ${snapshotIndex} was dropped`) ? true : undefined,
    );
    const served = await servedOnceWhole(victim.address, "below", values.length);
    expect(served.map((m) => m.offset)).toEqual(values.map((_, i) => i));
    expect(served.map((m) => m.value)).toEqual(values);
  });
});
