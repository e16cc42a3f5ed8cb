import { afterEach, describe, expect, test } from "bun:test";
import { connect, type MqraftClient } from "../../src/client/index.ts";
import { requireBinary, runMqraft } from "../support/binary.ts";
import { TestCluster } from "../support/cluster.ts";

let cluster: TestCluster | undefined;
const clients: MqraftClient[] = [];
afterEach(async () => {
  await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
  await cluster?.destroy();
  cluster = undefined;
});

const TOPIC = "温度/センサー";

describe("Unicode topic names on real brokers", () => {
  test("`mqraft pub 温度/センサー` on one broker reaches `mqraft sub` on another, and `topic ls` lists it", async () => {
    cluster = await TestCluster.create({ nodes: 3 });
    await cluster.waitForLeader();
    const [a, b, c] = cluster.addresses as [string, string, string];
    const sub = Bun.spawn(
      [requireBinary(), "sub", TOPIC, "--from", "earliest", "--count", "2", "--json", "--server", b],
      { stdout: "pipe", stderr: "pipe" },
    );
    const subOut = new Response(sub.stdout).text();
    const subErr = new Response(sub.stderr).text();
    const first = await runMqraft(["pub", TOPIC, "21.5", "--json", "--server", a]);
    expect(first).toMatchObject({ code: 0 });
    expect(JSON.parse(first.stdout)).toEqual({ topic: TOPIC, offset: 0 });
    const second = await runMqraft(["pub", TOPIC, "22.0", "--server", c]);
    expect(second).toMatchObject({ code: 0, stdout: `published ${TOPIC} #1\n` });
    const timer = setTimeout(() => sub.kill(), 15_000);
    const code = await sub.exited;
    clearTimeout(timer);
    expect({ code, stderr: await subErr }).toEqual({ code: 0, stderr: "" });
    expect(
      (await subOut)
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line)),
    ).toEqual([
      {
        topic: TOPIC,
        offset: 0,
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        data: "21.5",
      },
      {
        topic: TOPIC,
        offset: 1,
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        data: "22.0",
      },
    ]);
    const ls = await runMqraft(["topic", "ls", "--json", "--server", a]);
    expect(ls.code).toBe(0);
    expect(
      ls.stdout
        .split("\n")
        .filter(Boolean)
        .map((line) => JSON.parse(line).name),
    ).toEqual([TOPIC]);
  });

  test("the client library names a topic in NFC: `café` written either way is one topic", async () => {
    cluster = await TestCluster.create({ nodes: 1 });
    await cluster.waitForLeader();
    const client = await connect({ servers: cluster.addresses, timeoutMs: 15_000 });
    clients.push(client);
    const composed = "caf\u00e9";
    const decomposed = "cafe\u0301";
    expect(await client.publish(decomposed, "one")).toMatchObject({ topic: composed, offset: 0 });
    expect(await client.publish(composed, "two")).toMatchObject({ topic: composed, offset: 1 });
    const sub = await runMqraft([
      "sub",
      decomposed,
      "--from",
      "earliest",
      "--drain",
      "--server",
      cluster.addresses[0]!,
    ]);
    expect(sub).toMatchObject({ code: 0, stdout: `${composed} #0  one\n${composed} #1  two\n` });
  });

  test("names are refused with the reason, and an invisible character is printed as an escape", async () => {
    cluster = await TestCluster.create({ nodes: 1 });
    await cluster.waitForLeader();
    const server = cluster.addresses[0]!;
    for (const [name, why] of [
      ["温度 センサー", "no whitespace or control characters (U+0020 at character 3)"],
      ["温度\u3000センサー", "no whitespace or control characters (U+3000 at character 3)"],
      ["orders.*", `"*" is a wildcard`],
      ["温".repeat(86), "at most 255 bytes of UTF-8, not 258"],
    ] as const) {
      const pub = await runMqraft(["pub", name, "x", "--server", server]);
      expect({ name, code: pub.code, stderr: pub.stderr.includes(why) }).toEqual({ name, code: 2, stderr: true });
    }
    const hidden = "a\u200bb";
    expect(await runMqraft(["pub", hidden, "x", "--server", server])).toMatchObject({
      code: 0,
      stdout: `published "a\\u{200B}b" #0\n`,
    });
    const json = await runMqraft(["sub", hidden, "--from", "earliest", "--drain", "--json", "--server", server]);
    expect(json.stdout).toStartWith(`{"topic":"a\\u200bb","offset":0,"time":"`);
    expect(JSON.parse(json.stdout).topic).toBe(hidden);
  });
});
