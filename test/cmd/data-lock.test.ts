import { afterEach, describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runMqraft } from "../support/binary.ts";
import { TestCluster } from "../support/cluster.ts";
import { freePorts } from "../support/ports.ts";
import { waitFor } from "../support/wait.ts";
import { probeStatus } from "../support/wire-probe.ts";

let cluster: TestCluster | undefined;
afterEach(async () => {
  await cluster?.destroy();
  cluster = undefined;
});

/** Waits until broker 1 answers status; fails at once, with its log, if it exits instead. */
const serving = (c: TestCluster) =>
  waitFor("broker 1 serving status", async () => {
    const b = c.broker(1);
    if (b.proc?.exitCode != null) throw new Error(`broker 1 exited with ${b.proc.exitCode}:\n${c.tails()}`);
    return (await probeStatus(b.address, 500)) ? true : undefined;
  }).catch((e) => {
    throw new Error(`${e instanceof Error ? e.message : e}\n${c.tails()}`);
  });

describe("data-folder lock (defect 1)", () => {
  test("a broker killed while its lock file names a live pid (PID 1 in a container) starts again on its folder", async () => {
    cluster = await TestCluster.create({ nodes: 1 });
    const b = cluster.broker(1);
    await serving(cluster);
    expect(readFileSync(join(b.dataDir, "LOCK"), "utf8").trim()).toBe(String(b.proc?.pid));
    await cluster.stop(1, "SIGKILL");
    // In a container the broker is PID 1, and after a restart PID 1 is alive again: a pid says nothing.
    writeFileSync(join(b.dataDir, "LOCK"), "1\n");
    cluster.start(1);
    await serving(cluster);
  });

  test("a second broker on a folder in use exits 1 naming the folder and the holder's pid", async () => {
    cluster = await TestCluster.create({ nodes: 1 });
    const b = cluster.broker(1);
    await serving(cluster);
    const [port] = await freePorts(1);
    const r = await runMqraft(["broker", "--id", "1", "--port", String(port), "--data", b.dataDir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`data folder ${b.dataDir} is in use by process ${b.proc?.pid}`);
  });
});
