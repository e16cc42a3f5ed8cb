import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { requireBinary, runMqraft } from "../support/binary.ts";
import { haveOpenssl, makeTestCa } from "../support/test-ca.ts";
import { waitFor } from "../support/wait.ts";

/** A run of `count` consecutive free ports on 127.0.0.1 (mqraft up numbers its brokers from a base port), held open. */
async function holdConsecutivePorts(count: number): Promise<{ base: number; servers: Server[] }> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    const servers: Server[] = [];
    try {
      for (let i = 0; i < count; i++) {
        // a connection accepted meanwhile (mqraft up probes its manager's port) would hold close() up forever
        const server = createServer((socket) => socket.destroy());
        await new Promise<void>((resolve, reject) => {
          server.once("error", reject);
          server.listen(base + i, "127.0.0.1", resolve);
        });
        servers.push(server);
      }
      return { base, servers };
    } catch {
      await release(servers);
    }
  }
  throw new Error("no run of free ports found");
}

/** SIGKILL by pid; one that has exited meanwhile is fine. */
function killQuietly(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // gone already
  }
}

const release = (servers: Server[]) => Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));

/** CPU time a process has used (Linux /proc). */
function cpuSeconds(pid: number): number {
  const fields = (readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1] ?? "").split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

describe("mqraft up", () => {
  test("starts a manager and three brokers that acknowledge a publish through the manager; Ctrl-C stops them all", async () => {
    // the brokers, the manager, then the manager's HTTP port and the brokers' (base + 4 + id)
    const { base, servers } = await holdConsecutivePorts(8);
    await release(servers);
    const data = mkdtempSync(join(tmpdir(), "mqraft-up-"));
    const up = Bun.spawn(
      [
        requireBinary(),
        "up",
        "--nodes",
        "3",
        "--base-port",
        String(base),
        "--manager-port",
        String(base + 3),
        "--http-port",
        String(base + 4),
        "--http-base-port",
        String(base + 4),
        "--data",
        data,
      ],
      {
        stdout: "pipe",
        stderr: "pipe",
      },
    );
    let stdout = "";
    const reading = (async () => {
      for await (const chunk of up.stdout) stdout += new TextDecoder().decode(chunk);
    })();
    try {
      const published = await waitFor(
        "a publish through the manager of mqraft up to be acknowledged",
        async () => {
          const r = await runMqraft(["pub", "up-topic", "hello", "--server", `127.0.0.1:${base + 3}`, "--json"], {
            timeoutMs: 10_000,
          });
          if (r.code !== 0) throw new Error(`pub exited ${r.code}: ${r.stderr.trim()}`);
          return r.stdout;
        },
        { timeoutMs: 30_000, intervalMs: 300 },
      );
      expect(JSON.parse(published.trim().split("\n").at(-1) ?? "{}")).toMatchObject({ topic: "up-topic", offset: 0 });
      for (const port of [base + 4, base + 5, base + 6, base + 7]) {
        const health = await fetch(`http://127.0.0.1:${port}/healthz`);
        expect({ port, status: health.status }).toEqual({ port, status: 200 });
      }
      // the commands it suggests (once a leader answers) run the binary as it was started, not on the PATH here
      const shown = relative(process.cwd(), requireBinary());
      const hint = `  ${shown.startsWith("..") ? requireBinary() : `./${shown}`} pub topic1 "Hello" --server 127.0.0.1:${base + 3}\n`;
      await waitFor(`the hint ${JSON.stringify(hint)} on stdout`, () => (stdout.includes(hint) ? true : undefined));
      up.kill("SIGINT");
      const code = await Promise.race([up.exited, Bun.sleep(15_000).then(() => "still running after 15 s")]);
      expect(code).toBe(0);
      await reading;
      const left = Bun.spawnSync(["pgrep", "-f", `--data ${data}`])
        .stdout.toString()
        .trim();
      expect(left).toBe("");
    } finally {
      up.kill("SIGKILL");
      Bun.spawnSync(["pkill", "-f", `--data ${data}`]);
      rmSync(data, { recursive: true, force: true });
    }
  }, 60_000);

  test("--tls-cert, --tls-key, --tls-ca and --admin-token-file secure every node, their HTTP ports included", async () => {
    if (!haveOpenssl()) {
      console.warn("up.test.ts: the secured local cluster is skipped: no openssl(1) to make a test CA with");
      return;
    }
    // the broker, the manager, the manager's HTTP port, the broker's (http base + id)
    const { base, servers } = await holdConsecutivePorts(4);
    await release(servers);
    const dir = mkdtempSync(join(tmpdir(), "mqraft-up-secure-"));
    const data = join(dir, "data");
    const ca = makeTestCa(join(dir, "ca"));
    const node = ca.issue("node");
    const adminToken = join(dir, "admin-token");
    writeFileSync(adminToken, "the first admin's token, 16 bytes or more", { mode: 0o600 });
    const tlsFlags = ["--tls-cert", node.cert, "--tls-key", node.key, "--tls-ca", ca.ca];
    const up = Bun.spawn(
      [
        requireBinary(),
        "up",
        "--nodes",
        "1",
        "--base-port",
        String(base),
        "--manager-port",
        String(base + 1),
        "--http-port",
        String(base + 2),
        "--http-base-port",
        String(base + 2),
        "--data",
        data,
        ...tlsFlags,
        "--admin-token-file",
        adminToken,
      ],
      { stdout: "pipe", stderr: "pipe" },
    );
    let stdout = "";
    const reading = (async () => {
      for await (const chunk of up.stdout) stdout += new TextDecoder().decode(chunk);
    })();
    const manager = ["--server", `127.0.0.1:${base + 1}`];
    const clientTls = {
      ca: readFileSync(ca.ca, "utf8"),
      cert: readFileSync(node.cert, "utf8"),
      key: readFileSync(node.key, "utf8"),
    };
    try {
      await waitFor(
        "a publish with TLS and the admin token to be acknowledged",
        async () => {
          const r = await runMqraft(["pub", "secured", "hello", ...manager, ...tlsFlags, "--token-file", adminToken]);
          if (r.code !== 0) throw new Error(`pub exited ${r.code}: ${r.stderr.trim()}`);
          return true;
        },
        { timeoutMs: 30_000, intervalMs: 300 },
      );
      const clear = await runMqraft(["pub", "secured", "in clear", ...manager, "--token-file", adminToken]);
      expect({ code: clear.code, stderr: clear.stderr }).toMatchObject({
        code: 1,
        stderr: expect.stringContaining("speaks TLS"),
      });
      const anonymous = await runMqraft(["pub", "secured", "no token", ...manager, ...tlsFlags]);
      expect({ code: anonymous.code, stderr: anonymous.stderr }).toMatchObject({
        code: 1,
        stderr: expect.stringContaining("UNAUTHENTICATED"),
      });
      for (const port of [base + 2, base + 3]) {
        const health = await fetch(`https://127.0.0.1:${port}/healthz`, { tls: clientTls });
        expect({ port, status: health.status }).toEqual({ port, status: 200 });
        const clearHttp = await fetch(`http://127.0.0.1:${port}/healthz`).then(
          (r) => `answered ${r.status}`,
          () => "refused",
        );
        const noCertificate = await fetch(`https://127.0.0.1:${port}/healthz`, { tls: { ca: clientTls.ca } }).then(
          (r) => `answered ${r.status}`,
          () => "refused",
        );
        expect({ port, clearHttp, noCertificate }).toEqual({ port, clearHttp: "refused", noCertificate: "refused" });
      }
      // the dashboard learns topics from the leader's /metrics: the manager scrapes it over HTTPS
      await waitFor("the dashboard to list the topic from the broker's HTTPS /metrics", async () => {
        const state = (await (await fetch(`https://127.0.0.1:${base + 2}/state.json`, { tls: clientTls })).json()) as {
          topics?: { name: string }[];
        } | null;
        return state?.topics?.some((t) => t.name === "secured") ? true : undefined;
      });
      await waitFor("the hints to carry the TLS and token flags", () =>
        stdout.includes(`pub topic1 "Hello" --server 127.0.0.1:${base + 1} --tls-cert ${node.cert}`) &&
        stdout.includes(`--token-file ${adminToken}`) &&
        stdout.includes(`https://127.0.0.1:${base + 2}/`)
          ? true
          : undefined,
      );
      up.kill("SIGINT");
      const code = await Promise.race([up.exited, Bun.sleep(15_000).then(() => "still running after 15 s")]);
      expect(code).toBe(0);
      await reading;
    } finally {
      // up's children by their ids, before up itself, so none outlives a failed test
      for (const pid of Bun.spawnSync(["pgrep", "-P", String(up.pid)])
        .stdout.toString()
        .split("\n"))
        if (pid.trim() !== "") killQuietly(Number(pid));
      up.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);

  test("exits 1 saying so once every broker and the manager have exited (their ports are taken), instead of idling on", async () => {
    const { base, servers } = await holdConsecutivePorts(4);
    const data = mkdtempSync(join(tmpdir(), "mqraft-up-"));
    try {
      const up = Bun.spawn(
        [
          requireBinary(),
          "up",
          "--nodes",
          "3",
          "--base-port",
          String(base),
          "--manager-port",
          String(base + 3),
          "--http-port",
          "0",
          "--http-base-port",
          "0",
          "--data",
          data,
        ],
        {
          stdout: "pipe",
          stderr: "pipe",
        },
      );
      const code = await Promise.race([up.exited, Bun.sleep(20_000).then(() => undefined)]);
      const cpu = code === undefined ? cpuSeconds(up.pid) : 0;
      up.kill("SIGKILL");
      const stderr = await new Response(up.stderr).text();
      expect({ code, cpu: cpu < 5 }).toEqual({ code: 1, cpu: true });
      expect(stderr).toContain("cannot listen on 127.0.0.1:");
      expect(stderr).toContain("every broker and the manager exited");
    } finally {
      await release(servers);
      rmSync(data, { recursive: true, force: true });
    }
  }, 40_000);
});
