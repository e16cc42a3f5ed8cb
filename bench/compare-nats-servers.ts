import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePorts } from "../test/support/ports.ts";

/** The two clusters of bench/compare-nats.ts: 3 JetStream servers and 3 mqraft brokers on loopback. */

const NATS_GO = "/usr/share/gocode/src/github.com/nats-io/nats.go";

/** Installs nats-server, Go and the Go client from Debian when any is missing. */
export async function ensureNatsTools(): Promise<void> {
  if (Bun.which("nats-server") && Bun.which("go") && existsSync(NATS_GO)) return;
  console.log("installing nats-server, golang-go and golang-github-nats-io-go-nats-dev from Debian");
  for (const args of [["update"], ["install", "-y", "nats-server", "golang-go", "golang-github-nats-io-go-nats-dev"]]) {
    const proc = Bun.spawn(["apt-get", ...args], { stdout: "ignore", stderr: "inherit" });
    if ((await proc.exited) !== 0) throw new Error(`apt-get ${args.join(" ")} failed`);
  }
}

/** Builds the Go client of bench/nats-bench into `dir` and returns its path. */
export async function buildNatsBench(root: string, dir: string): Promise<string> {
  const out = join(dir, "nats-bench");
  const proc = Bun.spawn(["go", "build", "-o", out, "./bench/nats-bench"], {
    cwd: root,
    env: { ...process.env, GO111MODULE: "off", GOPATH: "/usr/share/gocode", GOCACHE: join(dir, "go-cache") },
    stdout: "inherit",
    stderr: "inherit",
  });
  if ((await proc.exited) !== 0) throw new Error("go build of bench/nats-bench failed");
  return out;
}

export class Servers {
  private mqraftRuns = 0;
  private readonly procs: Subprocess[] = [];

  constructor(private readonly dir: string) {
    process.on("exit", () => this.stopNow());
  }

  private spawn(name: string, argv: string[]): void {
    const fd = openSync(join(this.dir, `${name}.log`), "a");
    this.procs.push(Bun.spawn(argv, { stdout: fd, stderr: fd, stdin: "ignore" }));
    closeSync(fd);
  }

  /** A 3-node JetStream cluster with file storage; returns the client URLs. */
  async startNats(): Promise<string> {
    const ports = await freePorts(6);
    const clientPorts = ports.slice(0, 3);
    const routePorts = ports.slice(3);
    for (let i = 0; i < 3; i++) {
      const store = join(this.dir, `nats-${i + 1}`);
      mkdirSync(store, { recursive: true });
      const routes = routePorts.map((p) => `nats-route://127.0.0.1:${p}`).join(", ");
      const config = join(this.dir, `nats-${i + 1}.conf`);
      writeFileSync(
        config,
        [
          `server_name: n${i + 1}`,
          `listen: 127.0.0.1:${clientPorts[i]}`,
          `jetstream { store_dir: "${store}" }`,
          `cluster { name: bench, listen: 127.0.0.1:${routePorts[i]}, routes: [${routes}] }`,
        ].join("\n"),
      );
      this.spawn(`nats-${i + 1}`, ["nats-server", "-c", config]);
    }
    return clientPorts.map((p) => `nats://127.0.0.1:${p}`).join(",");
  }

  /**
   * A 3-broker mqraft cluster of `binary` with default settings (fsync before ack) and `extra` flags on every broker;
   * returns the addresses.
   */
  async startMqraft(binary: string, extra: string[] = []): Promise<string> {
    const ports = await freePorts(3);
    const peers = ports.map((p, i) => `${i + 1}=127.0.0.1:${p}`).join(",");
    // each cluster started here gets folders of its own: another's would be refused (founded with other --peers)
    const run = ++this.mqraftRuns;
    ports.forEach((port, i) => {
      const id = String(i + 1);
      const data = join(this.dir, `mqraft-${run}-${id}`);
      this.spawn(`mqraft-${run}-${id}`, [
        binary,
        "broker",
        "--id",
        id,
        "--port",
        String(port),
        "--peers",
        peers,
        "--data",
        data,
        "--log-level",
        "warn",
        ...extra,
      ]);
    });
    return ports.map((p) => `127.0.0.1:${p}`).join(",");
  }

  /** Stops every server started here and waits for each to exit. */
  async stop(): Promise<void> {
    for (const p of this.procs) p.kill("SIGTERM");
    await Promise.all(this.procs.map((p) => p.exited));
    this.procs.length = 0;
  }

  private stopNow(): void {
    for (const p of this.procs) p.kill("SIGKILL");
  }
}
