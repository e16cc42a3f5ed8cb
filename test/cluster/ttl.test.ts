import { afterAll, describe, expect, test } from "bun:test";
import { runMqraft } from "../support/binary.ts";
import { TestCluster } from "../support/cluster.ts";
import { waitFor } from "../support/wait.ts";

// one cluster for the cases of this file: each uses topics of its own
let shared: TestCluster | undefined;
const running = async (): Promise<TestCluster> => {
  shared ??= await TestCluster.create({ nodes: 3 });
  await shared.waitForLeader();
  return shared;
};
afterAll(async () => {
  await shared?.destroy();
});

/** Waits until this machine's clock (the leader's: same machine) has passed `ms`. */
async function clockPast(ms: number): Promise<void> {
  while (Date.now() <= ms) await Bun.sleep(Math.min(50, ms - Date.now() + 1));
}

describe("per-message TTL on real brokers", () => {
  test("`pub --ttl`: an expired message is never delivered, and retention removes it once it is the oldest", async () => {
    const cluster = await running();
    const [a] = cluster.addresses as [string, string, string];
    const pub = async (...args: string[]) => expect((await runMqraft(["pub", ...args, "--server", a])).code).toBe(0);
    await pub("t", "short", "--ttl", "500ms");
    await pub("t", "kept");
    await pub("w", "first");
    await pub("w", "short", "--ttl", "500ms");
    // stamped before its acknowledgement: it expires by this time + 500 ms
    const lastTtl = Date.now();
    await pub("w", "last");
    await clockPast(lastTtl + 600);
    // the cluster's time moves with each command: this publish takes it past every expiry
    await pub("clock", "tick");
    for (const server of cluster.addresses) {
      const sub = async (topic: string) => {
        const r = await runMqraft(["sub", topic, "--from", "earliest", "--drain", "--json", "--server", server]);
        expect(r.code).toBe(0);
        return r.stdout
          .split("\n")
          .filter(Boolean)
          .map((line) => {
            const m = JSON.parse(line);
            return `${m.offset}:${m.data}`;
          });
      };
      expect(await sub("t")).toEqual(["1:kept"]);
      // behind a message without a TTL, the expired one stays stored but is skipped
      expect(await sub("w")).toEqual(["0:first", "2:last"]);
      const info = async (topic: string) =>
        JSON.parse((await runMqraft(["topic", "info", topic, "--json", "--server", server])).stdout);
      expect(await info("t")).toMatchObject({ firstOffset: 1, nextOffset: 2, messages: 1 });
      expect(await info("w")).toMatchObject({ firstOffset: 0, nextOffset: 3, messages: 3 });
    }
    // once what was before it is purged, the expired message goes too
    expect((await runMqraft(["topic", "purge", "w", "--keep", "2", "--server", a])).code).toBe(0);
    const after = JSON.parse((await runMqraft(["topic", "info", "w", "--json", "--server", a])).stdout);
    expect(after).toMatchObject({ firstOffset: 2, messages: 1 });
  });

  test("on an idle cluster an expired message goes from every broker: the leader moves the time by itself", async () => {
    const cluster = await running();
    const [a] = cluster.addresses as [string, string, string];
    expect((await runMqraft(["pub", "idle", "short", "--ttl", "300ms", "--server", a])).code).toBe(0);
    // nothing else is published: only the leader's tick can take the cluster's time past the expiry
    for (const server of cluster.addresses) {
      await waitFor(
        `topic idle emptied on ${server}`,
        async () => {
          const r = await runMqraft(["topic", "info", "idle", "--json", "--server", server]);
          const info = JSON.parse(r.stdout);
          if (info.messages === 0) return info;
          throw new Error(`topic info idle on ${server}: ${r.stdout.trim()} (expected 0 messages)`);
        },
        { timeoutMs: 15_000, intervalMs: 200 },
      );
    }
  });

  test("a bad --ttl is refused before anything is sent", async () => {
    for (const [ttl, why] of [
      ["0s", '--ttl "0s": expected more than 0'],
      ["10", '--ttl "10": expected a duration with a unit'],
      ["soon", '--ttl "soon": expected a duration with a unit'],
    ]) {
      const r = await runMqraft(["pub", "t", "x", "--ttl", ttl as string, "--server", "127.0.0.1:1"]);
      expect([ttl, r.code, r.stderr]).toEqual([ttl, 2, expect.stringContaining(why as string)]);
    }
  });
});
