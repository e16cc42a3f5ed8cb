import { afterEach, describe, expect, test } from "bun:test";
import { appendFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { TestCluster } from "../support/cluster.ts";
import { publishRaw, readRaw } from "../support/raw-client.ts";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

function newestSegment(dataDir: string): string {
  const logDir = join(dataDir, "log");
  const segments = readdirSync(logDir)
    .filter((f) => f.endsWith(".seg"))
    .sort();
  const newest = segments.at(-1);
  if (!newest) throw new Error(`no segment in ${logDir}`);
  return join(logDir, newest);
}

describe("crash recovery of a real broker", () => {
  test("kill -9, junk appended to the newest segment, restart: every acknowledged message is served", async () => {
    cluster = await TestCluster.create({ nodes: 1 });
    const broker = cluster.broker(1);
    await cluster.waitForLeader();
    const values = Array.from({ length: 2000 }, (_, i) => `value-${i}`);
    const acked = await publishRaw(broker.address, "crash", values);
    expect(acked.size).toBe(values.length);

    await cluster.stop(1, "SIGKILL");
    appendFileSync(
      newestSegment(broker.dataDir),
      new Uint8Array(777).map((_, i) => (i * 131) & 0xff),
    );
    cluster.start(1);
    await cluster.waitForLeader();

    const read = await readRaw(broker.address, "crash", values.length);
    expect(read.length).toBe(values.length);
    for (const { offset, value } of read) expect(acked.get(value)).toBe(offset);
    expect(read.map((r) => r.offset)).toEqual(values.map((_, i) => i));
    expect(cluster.log(1)).toContain("Recovered");
  });

  test("the whole three-broker cluster stopped and restarted keeps every message", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    const leader = await cluster.waitForLeader();
    const values = Array.from({ length: 500 }, (_, i) => `v${i}`);
    const acked = await publishRaw(cluster.broker(leader).address, "restart", values);
    for (const b of cluster.brokers) await cluster.stop(b.id, "SIGTERM");
    for (const b of cluster.brokers) cluster.start(b.id);
    await cluster.waitForLeader();
    for (const b of cluster.brokers) {
      const read = await readRaw(b.address, "restart", values.length);
      expect(read.map((r) => `${r.offset}:${r.value}`)).toEqual(values.map((v) => `${acked.get(v)}:${v}`));
    }
  });
});
