import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { runMqraft } from "../support/binary.ts";
import { TestCluster } from "../support/cluster.ts";

/** mqraft retention show|set: the replicated policy, set through any broker, in force on every broker. */

let cluster: TestCluster;
beforeAll(async () => {
  // brokers started with different flags: the first leader's flags become the cluster's policy, once
  cluster = await TestCluster.create({ nodes: 3, argsFor: (id) => ["--retain-messages", String(10 + id)] });
  await cluster.waitForLeader();
});
afterAll(async () => {
  await cluster.destroy();
});

const through = (id: number) => cluster.brokers.find((b) => b.id === id)?.address as string;
const mqraft = (args: string[], server = through(1), stdin?: string) =>
  runMqraft([...args, "--server", server], stdin === undefined ? {} : { stdin });

describe("mqraft retention", () => {
  test("set replaces the policy through the log; show reads it back through any broker; retention follows it", async () => {
    const set = await mqraft(["retention", "set", "--max-messages", "3", "--max-age", "90m", "--json"], through(2));
    expect(set.code, set.stderr).toBe(0);
    expect(JSON.parse(set.stdout)).toEqual({ maxMessages: 3, maxAgeMs: 5_400_000 });
    for (const id of [1, 2, 3]) {
      const show = await mqraft(["retention", "show", "--json"], through(id));
      expect(show.code, show.stderr).toBe(0);
      expect(JSON.parse(show.stdout)).toEqual({ maxMessages: 3, maxAgeMs: 5_400_000 });
    }
    const words = await mqraft(["retention", "show"], through(3));
    expect(words.stdout.trim()).toBe("retention: at most 3 messages, 1h30m per topic");

    expect((await mqraft(["pub", "ret-t"], through(1), "a\nb\nc\nd\ne\n")).code).toBe(0);
    const info = await mqraft(["topic", "info", "ret-t", "--json"]);
    expect(JSON.parse(info.stdout)).toMatchObject({ firstOffset: 2, nextOffset: 5, messages: 3 });

    const bytes = await mqraft(["retention", "set", "--max-bytes", "64KiB"]);
    expect(bytes.stdout.trim()).toBe("retention: at most 64.0 KiB per topic");
    const unlimited = await mqraft(["retention", "set", "--unlimited", "--json"]);
    expect(JSON.parse(unlimited.stdout)).toEqual({});
    expect((await mqraft(["retention", "show"])).stdout.trim()).toBe("retention: none (every message is kept)");
  });

  test("bad or missing limits are usage errors (exit 2) that name the problem, and change nothing", async () => {
    const cases: [string[], string][] = [
      [["retention", "set"], "--unlimited"],
      [["retention", "set", "--max-messages", "0"], "--max-messages"],
      [["retention", "set", "--max-bytes", "0"], "--max-bytes"],
      [["retention", "set", "--max-age", "soon"], "--max-age"],
      [["retention", "set", "--unlimited", "--max-messages", "5"], "--unlimited"],
    ];
    const before = (await mqraft(["retention", "show", "--json"])).stdout;
    for (const [args, named] of cases) {
      const r = await mqraft(args);
      expect({ args, code: r.code }).toEqual({ args, code: 2 });
      expect(r.stderr).toContain(named);
    }
    expect((await mqraft(["retention", "show", "--json"])).stdout).toBe(before);
  });
});
