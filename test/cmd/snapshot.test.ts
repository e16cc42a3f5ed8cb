import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runMqraft } from "../support/binary.ts";
import { TestCluster } from "../support/cluster.ts";
import { drainRaw, publishRaw } from "../support/raw-client.ts";

const clusters: TestCluster[] = [];
afterEach(async () => {
  for (const c of clusters.splice(0)) await c.destroy();
});

async function cluster(options: Parameters<typeof TestCluster.create>[0]): Promise<TestCluster> {
  const c = await TestCluster.create(options);
  clusters.push(c);
  return c;
}

/** Published to the old cluster: two topics, 3 MB in all, so the saved stream takes several chunks. */
async function publishHistory(address: string): Promise<Map<string, string[]>> {
  const topics = new Map<string, string[]>([
    ["orders", []],
    ["logs", []],
  ]);
  for (let round = 0; round < 6; round++)
    for (const [topic, values] of topics) {
      const batch = Array.from({ length: 25 }, (_, i) => `${topic}-${round}-${i}-`.padEnd(10_000, "x"));
      await publishRaw(address, topic, batch);
      values.push(...batch);
    }
  return topics;
}

describe("mqraft snapshot save and restore", () => {
  test("saved from a running cluster, restored into three new folders: the new cluster serves every message in order", async () => {
    const old = await cluster({ nodes: 3 });
    const leader = await old.waitForLeader();
    const published = await publishHistory(old.broker(leader).address);
    const file = join(old.dir, "saved.snap");
    const saved = await runMqraft(["snapshot", "save", file, "--json", "--server", old.addresses.join(",")], {
      timeoutMs: 60_000,
    });
    if (saved.code !== 0) throw new Error(`snapshot save exited ${saved.code}: ${saved.stderr}`);
    const savedJson = JSON.parse(saved.stdout) as { file: string; index: number; term: number; bytes: number };
    expect(savedJson.file).toBe(file);
    expect(savedJson.bytes).toBe(readFileSync(file).length);
    expect(savedJson.bytes).toBeGreaterThan(3_000_000);
    expect(existsSync(`${file}.part`)).toBe(false);

    const fresh = await cluster({ nodes: 3, start: false });
    const peers = fresh.brokers.map((b) => `${b.id}=${b.address}`).join(",");
    for (const b of fresh.brokers) {
      const restored = await runMqraft(["snapshot", "restore", file, "--data", b.dataDir, "--peers", peers, "--json"]);
      if (restored.code !== 0) throw new Error(`snapshot restore exited ${restored.code}: ${restored.stderr}`);
      expect(JSON.parse(restored.stdout)).toEqual({
        data: b.dataDir,
        index: savedJson.index,
        term: savedJson.term,
        topics: 2,
        messages: 300,
      });
    }
    for (const b of fresh.brokers) fresh.start(b.id);
    await fresh.waitForLeader();
    for (const b of fresh.brokers)
      for (const [topic, values] of published) {
        const got = await drainRaw(b.address, topic);
        expect(got.map((m) => m.offset)).toEqual(values.map((_, i) => i));
        const wrong = got.findIndex((m, i) => m.value !== values[i]);
        if (wrong >= 0) throw new Error(`broker ${b.id}, ${topic} #${wrong}: ${got[wrong]?.value.slice(0, 20)}`);
      }
    // the new cluster goes on from where the saved one was
    const next = await publishRaw(fresh.broker(await fresh.waitForLeader()).address, "orders", ["after restore"]);
    expect(next.get("after restore")).toBe(150);
  }, 120_000);

  test("a damaged or truncated file, or a data folder in use, is refused with a clear error and nothing is created", async () => {
    const old = await cluster({ nodes: 1 });
    await old.waitForLeader();
    await publishRaw(old.broker(1).address, "t", ["one", "two", "three"]);
    const file = join(old.dir, "saved.snap");
    const saved = await runMqraft(["snapshot", "save", file, "--server", old.broker(1).address]);
    expect(saved.code).toBe(0);
    expect(saved.stdout).toMatch(/^saved the snapshot at index \d+ \(term \d+, \d+ bytes\) to /);
    const bytes = readFileSync(file);

    const cases: [string, Uint8Array, RegExp][] = [
      [
        "flipped",
        Uint8Array.from(bytes, (b, i) => (i === bytes.length >> 1 ? b ^ 0x10 : b)),
        /checksum does not match/,
      ],
      ["truncated", bytes.subarray(0, bytes.length - 10), /corrupt or truncated/],
      ["not-a-snapshot", new TextEncoder().encode("hello\n".repeat(20)), /does not start as an mqraft snapshot/],
    ];
    for (const [name, content, why] of cases) {
      const damaged = join(old.dir, `${name}.snap`);
      writeFileSync(damaged, content);
      const dir = join(old.dir, `restored-${name}`);
      const r = await runMqraft(["snapshot", "restore", damaged, "--data", dir, "--peers", "1=127.0.0.1:1"]);
      expect({ name, code: r.code, stdout: r.stdout }).toEqual({ name, code: 1, stdout: "" });
      expect(r.stderr).toContain(`mqraft: CORRUPT: snapshot file ${damaged} is corrupt or truncated`);
      expect(r.stderr).toMatch(why);
      expect(existsSync(dir)).toBe(false);
    }

    const inUse = old.broker(1).dataDir;
    const before = readdirSync(inUse).sort();
    const r = await runMqraft(["snapshot", "restore", file, "--data", inUse, "--peers", "1=127.0.0.1:1"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${inUse} is not empty: restore prepares a new data folder`);
    expect(readdirSync(inUse).sort()).toEqual(before);

    const noPeers = await runMqraft(["snapshot", "restore", file, "--data", join(old.dir, "x")]);
    expect(noPeers.code).toBe(2);
    expect(noPeers.stderr).toContain("--peers");
  }, 60_000);
});
