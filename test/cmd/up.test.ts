import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { requireBinary, runMqraft } from "../support/binary.ts";
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
