import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { requireBinary, runMqraft } from "../support/binary.ts";
import { TestCluster } from "../support/cluster.ts";
import { freePorts } from "../support/ports.ts";

/** The CLI in shells and scripts against one broker: pipes, offsets, units, whole-message input. */

let cluster: TestCluster;
let server: string;
let dir: string;
beforeAll(async () => {
  cluster = await TestCluster.create({ nodes: 1, argsFor: () => ["--retain-messages", "3"] });
  await cluster.waitForLeader();
  server = cluster.broker(1).address;
  dir = mkdtempSync(join(tmpdir(), "mqraft-scripting-"));
});
afterAll(async () => {
  await cluster.destroy();
  rmSync(dir, { recursive: true, force: true });
});

const mqraft = (args: string[], opts: { stdin?: string; timeoutMs?: number } = {}) =>
  runMqraft([...args, "--server", server], opts);

/** Runs a bash pipeline (the binary is $M) and returns the first command's exit code with the pipeline's output. */
async function pipeline(script: string, timeoutMs = 10_000): Promise<{ code: number; stdout: string; stderr: string }> {
  const proc = Bun.spawn(["bash", "-c", `${script}; echo "rc=\${PIPESTATUS[0]}" >&2`], {
    stdout: "pipe",
    stderr: "pipe",
    env: { ...process.env, M: requireBinary(), S: server },
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), timeoutMs);
  const [stdout, stderr] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  await proc.exited;
  clearTimeout(timer);
  const match = /rc=(\d+)\n$/.exec(stderr);
  return { code: match ? Number(match[1]) : -1, stdout, stderr: stderr.replace(/rc=\d+\n$/, "") };
}

async function publish(topic: string, lines: string[]): Promise<void> {
  const r = await mqraft(["pub", topic], { stdin: lines.map((l) => `${l}\n`).join("") });
  expect(r.code, r.stderr).toBe(0);
}

describe("pipes (defect 3)", () => {
  test("sub --from earliest | head -1 exits 0 once head has its line, with nothing on stderr", async () => {
    await publish("pipe-a", ["one", "two", "three"]);
    // the old sub never noticed that head had gone and waited for messages forever
    const r = await pipeline('"$M" sub pipe-a --from earliest --server "$S" | head -1');
    expect(r).toEqual({ code: 0, stdout: "pipe-a #0  one\n", stderr: "" });
  });

  test("sub --json | head -2 and pub | head -1 exit 0 without an EPIPE trace", async () => {
    await publish("pipe-b", ["one", "two", "three"]);
    const sub = await pipeline('"$M" sub pipe-b --from earliest --json --server "$S" | head -2');
    expect(sub.stderr).toBe("");
    expect(sub.code).toBe(0);
    expect(sub.stdout.trim().split("\n")).toHaveLength(2);
    const pub = await pipeline('seq 1 20000 | "$M" pub pipe-b --server "$S" | head -1', 30_000);
    expect({ code: pub.code, stderr: pub.stderr, stdout: pub.stdout }).toEqual({
      code: 0,
      stderr: "",
      stdout: "published pipe-b #3\n",
    });
  });

  test("a durable sub acks what it printed: the next run starts after it, not at #0", async () => {
    await publish("pipe-c", ["a", "b", "c"]);
    const first = await mqraft(["sub", "pipe-c", "--durable", "dc", "--from", "earliest", "--count", "1"]);
    expect(first.stdout).toBe("pipe-c #0  a\n");
    const second = await mqraft(["sub", "pipe-c", "--durable", "dc", "--count", "1"]);
    expect(second.stdout).toBe("pipe-c #1  b\n");
    const piped = await pipeline('"$M" sub pipe-c --durable dc --server "$S" | head -1');
    expect({ code: piped.code, stdout: piped.stdout }).toEqual({ code: 0, stdout: "pipe-c #2  c\n" });
    await publish("pipe-c", ["d"]);
    const after = await mqraft(["sub", "pipe-c", "--durable", "dc", "--count", "1"]);
    expect(after.stdout).toBe("pipe-c #3  d\n");
  });
});

describe("offsets outside what is stored (defect 10)", () => {
  test("--from beyond the end exits 2 saying where the topic ends; with --wait it waits for that offset", async () => {
    await publish("off-a", ["x", "y"]);
    const r = await mqraft(["sub", "off-a", "--from", "100"]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--from 100: off-a ends at offset 2");
    const waiting = Bun.spawn(
      [requireBinary(), "sub", "off-a", "--from", "3", "--wait", "--count", "1", "--server", server],
      { stdout: "pipe", stderr: "pipe" },
    );
    await publish("off-a", ["z", "w"]);
    const timer = setTimeout(() => waiting.kill("SIGKILL"), 10_000);
    const out = await new Response(waiting.stdout).text();
    clearTimeout(timer);
    expect({ code: await waiting.exited, out }).toEqual({ code: 0, out: "off-a #3  w\n" });
  });

  test("--from 0 after retention says where the stored messages begin", async () => {
    await publish("off-b", ["1", "2", "3", "4", "5"]);
    const r = await mqraft(["sub", "off-b", "--from", "0", "--count", "1"]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe("off-b #2  3\n");
    expect(r.stderr).toBe("mqraft: --from 0: the first stored offset of off-b is 2\n");
  });
});

describe("input and units (defect 12)", () => {
  test("pub --file and --raw publish one message with the bytes unchanged; CRLF lines lose the \\r", async () => {
    const file = join(dir, "payload.bin");
    const bytes = new Uint8Array([0x00, 0x0a, 0xff, 0x0d, 0x0a, 0x41]);
    writeFileSync(file, bytes);
    const fromFile = await mqraft(["pub", "in-a", "--file", file, "--json"]);
    expect(fromFile.code, fromFile.stderr).toBe(0);
    const read = await mqraft(["sub", "in-a", "--from", "earliest", "--count", "1", "--json"]);
    expect(Buffer.from(JSON.parse(read.stdout).data_b64, "base64")).toEqual(Buffer.from(bytes));
    // the broker keeps 3 messages per topic: the rest goes to a topic of its own
    const raw = await mqraft(["pub", "in-c", "--raw"], { stdin: "line one\nline two\n" });
    expect(raw.stdout).toBe("published in-c #0\n");
    const crlf = await mqraft(["pub", "in-c"], { stdin: "win\r\ndows\r\n" });
    expect(crlf.stdout).toBe("published in-c #1\npublished in-c #2\n");
    const r = await mqraft(["sub", "in-c", "--from", "earliest", "--drain", "--json"]);
    const got = r.stdout
      .trim()
      .split("\n")
      .map((l) => JSON.parse(l).data);
    expect(got).toEqual(["line one\nline two\n", "win", "dows"]);
  });

  test("durations and sizes take units: --timeout 1500ms, --reconnect-timeout 2s, bench --size 1KiB", async () => {
    expect((await mqraft(["status", "--timeout", "1500ms"])).code).toBe(0);
    const sub = await mqraft(["sub", "in-a", "--from", "earliest", "--count", "1", "--reconnect-timeout", "2s"]);
    expect(sub.code).toBe(0);
    const bench = await mqraft(["bench", "pub", "in-b", "--msgs", "20", "--size", "1KiB", "--json"], {
      timeoutMs: 30_000,
    });
    expect(bench.code, bench.stderr).toBe(0);
    expect(JSON.parse(bench.stdout)).toMatchObject({ msgs: 20 });
  });
});

describe("--json prints JSON only (defects 11, 13)", () => {
  test("bench pub --json: stdout is one JSON object, the banner goes to stderr", async () => {
    const r = await mqraft(["bench", "pub", "js-a", "--msgs", "10", "--json"], { timeoutMs: 30_000 });
    expect(r.code).toBe(0);
    expect(r.stdout.trim().split("\n")).toHaveLength(1);
    expect(() => JSON.parse(r.stdout)).not.toThrow();
  });

  test("leader, leave and inspect take --json", async () => {
    const leader = await mqraft(["leader", "--transfer-to", "1", "--json"]);
    expect(JSON.parse(leader.stdout)).toMatchObject({ leader: 1, changed: false });
    const inspect = await runMqraft(["inspect", cluster.broker(1).dataDir, "--json"]);
    expect(JSON.parse(inspect.stdout)).toMatchObject({ folder: cluster.broker(1).dataDir, healthy: true });
    const leave = await mqraft(["leave", "--id", "7", "--json"]);
    expect(leave.code).toBe(1);
    expect(leave.stderr).toContain("NOT_FOUND");
  });
});

describe("connection failures (defect 9)", () => {
  test("a refused port fails at once naming the cause, not after the whole --timeout", async () => {
    const [port] = await freePorts(1);
    // killed after 5 s: the old client retried for the whole 30 s
    const r = await runMqraft(["status", "--server", `127.0.0.1:${port}`, "--timeout", "30s"], { timeoutMs: 5_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("connection refused");
  });

  test("a name that does not resolve says so", async () => {
    const r = await runMqraft(["status", "--server", "no-such-host.invalid:8000", "--timeout", "30s"], {
      timeoutMs: 5_000,
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("does not resolve");
  });
});

describe("sub while its broker is gone (defect 8)", () => {
  test("says on stderr that it lost the broker and gives up after --reconnect-timeout", async () => {
    await publish("gone-a", ["x"]);
    const sub = Bun.spawn(
      [requireBinary(), "sub", "gone-a", "--from", "earliest", "--reconnect-timeout", "1s", "--server", server],
      { stdout: "pipe", stderr: "pipe" },
    );
    const reader = sub.stdout.getReader();
    const first = await reader.read();
    expect(new TextDecoder().decode(first.value)).toBe("gone-a #0  x\n");
    reader.releaseLock();
    await cluster.stop(1, "SIGKILL");
    const timer = setTimeout(() => sub.kill("SIGKILL"), 15_000);
    const stderr = await new Response(sub.stderr).text();
    clearTimeout(timer);
    expect(await sub.exited).toBe(1);
    expect(stderr).toContain(`mqraft: lost ${server}; looking for another broker for up to 1 s (--reconnect-timeout)`);
    expect(stderr).toContain("not resumed within 1 s");
  });
});
