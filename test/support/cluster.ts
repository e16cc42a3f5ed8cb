import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { requireBinary } from "./binary.ts";
import { freePorts } from "./ports.ts";
import { waitFor } from "./wait.ts";
import { probeStatus } from "./wire-probe.ts";

export interface BrokerProcess {
  id: number;
  port: number;
  address: string;
  dataDir: string;
  logPath: string;
  proc: Subprocess | undefined;
  extraArgs: string[];
  /** Set for a broker added later with `mqraft join`: the servers it asks. */
  joinVia?: string[];
}

export interface ClusterOptions {
  nodes?: number;
  heartbeatMs?: number;
  electionMs?: number;
  /** Extra flags per broker id. */
  argsFor?: (id: number) => string[];
  /** The --peers one broker is started with, when it is not the one every other broker gets. */
  peersFor?: (id: number, peers: string) => string;
  /** Start the processes now (default true). */
  start?: boolean;
  /** The binary brokers run (default the release build, dist/mqraft). */
  binary?: string;
  /** Extra environment per broker id. */
  envFor?: (id: number) => Record<string, string>;
}

const live = new Set<Subprocess>();
// A test that throws before its afterAll still must not leave brokers running.
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

/** A cluster of real `mqraft broker` processes on loopback, each with its own data folder and log file. */
export class TestCluster {
  readonly dir: string;
  readonly brokers: BrokerProcess[];
  private readonly peers: string;

  private constructor(
    dir: string,
    brokers: BrokerProcess[],
    private readonly options: ClusterOptions,
  ) {
    this.dir = dir;
    this.brokers = brokers;
    this.peers = brokers.map((b) => `${b.id}=${b.address}`).join(",");
  }

  static async create(options: ClusterOptions = {}): Promise<TestCluster> {
    const n = options.nodes ?? 3;
    const dir = mkdtempSync(join(tmpdir(), "mqraft-cluster-"));
    const ports = await freePorts(n);
    const brokers = ports.map((port, i) => ({
      id: i + 1,
      port,
      address: `127.0.0.1:${port}`,
      dataDir: join(dir, `data-${i + 1}`),
      logPath: join(dir, `broker-${i + 1}.log`),
      proc: undefined,
      extraArgs: options.argsFor?.(i + 1) ?? [],
    }));
    const cluster = new TestCluster(dir, brokers, options);
    if (options.start ?? true) for (const b of brokers) cluster.start(b.id);
    return cluster;
  }

  broker(id: number): BrokerProcess {
    const b = this.brokers.find((x) => x.id === id);
    if (!b) throw new Error(`no broker ${id} in this cluster`);
    return b;
  }

  get addresses(): string[] {
    return this.brokers.map((b) => b.address);
  }

  start(id: number): void {
    const b = this.broker(id);
    if (this.isRunning(b)) throw new Error(`broker ${id} is already running`);
    const peers = this.options.peersFor?.(id, this.peers) ?? this.peers;
    const membership = b.joinVia ? ["join", "--server", b.joinVia.join(",")] : ["broker", "--peers", peers];
    const args = [
      ...membership,
      "--id",
      String(id),
      "--port",
      String(b.port),
      "--data",
      b.dataDir,
      "--heartbeat-ms",
      String(this.options.heartbeatMs ?? 50),
      "--election-ms",
      String(this.options.electionMs ?? 500),
      "--log-level",
      "debug",
      ...b.extraArgs,
    ];
    // Appending through a file descriptor keeps every run of this broker in one log, even across kill -9.
    const fd = openSync(b.logPath, "a");
    b.proc = Bun.spawn([this.options.binary ?? requireBinary(), ...args], {
      stdout: fd,
      stderr: fd,
      stdin: "ignore",
      env: { ...process.env, ...this.options.envFor?.(id) },
    });
    closeSync(fd);
    live.add(b.proc);
    const proc = b.proc;
    void proc.exited.then(() => live.delete(proc));
  }

  /** A new broker that joins through `mqraft join`, asking the brokers that exist now. */
  async addJoiner(id: number, via?: string[]): Promise<BrokerProcess> {
    const [port] = await freePorts(1);
    const b: BrokerProcess = {
      id,
      port: port as number,
      address: `127.0.0.1:${port}`,
      dataDir: join(this.dir, `data-${id}`),
      logPath: join(this.dir, `broker-${id}.log`),
      proc: undefined,
      extraArgs: this.options.argsFor?.(id) ?? [],
      joinVia: via ?? this.brokers.map((x) => x.address),
    };
    this.brokers.push(b);
    this.start(id);
    return b;
  }

  /** Sends `signal` and waits for the process to exit. */
  async stop(id: number, signal: "SIGKILL" | "SIGTERM" | "SIGINT" = "SIGKILL"): Promise<number | null> {
    const b = this.broker(id);
    const proc = b.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return proc?.exitCode ?? null;
    proc.kill(signal);
    const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
    await proc.exited;
    clearTimeout(timer);
    return proc.exitCode;
  }

  /**
   * Waits (at most `timeoutMs`) for broker `id` to exit by itself and returns its exit code; a broker still running
   * then fails the test with every broker's last log lines, instead of leaving it to the test's own timeout.
   */
  async exitOf(id: number, timeoutMs = 20_000): Promise<number> {
    const proc = this.broker(id).proc;
    if (proc === undefined) throw new Error(`broker ${id} was never started`);
    const code = await Promise.race([proc.exited, Bun.sleep(timeoutMs).then(() => undefined)]);
    if (code === undefined) throw new Error(`broker ${id} still running after ${timeoutMs} ms\n${this.tails(30)}`);
    return code;
  }

  async restart(id: number): Promise<void> {
    await this.stop(id);
    this.start(id);
  }

  running(): BrokerProcess[] {
    return this.brokers.filter((b) => this.isRunning(b));
  }

  private isRunning(b: BrokerProcess): boolean {
    return b.proc !== undefined && b.proc.exitCode === null && b.proc.signalCode === null && !b.proc.killed;
  }

  /** The leader that a majority of the running brokers agree on, once there is one. */
  async waitForLeader(timeoutMs = 10_000, except?: number): Promise<number> {
    return this.explained(
      waitFor(
        `a leader${except ? ` other than ${except}` : ""}`,
        async () => {
          const views = await Promise.all(this.running().map((b) => probeStatus(b.address, 500)));
          const leaders = views.map((v) => v?.leader ?? 0).filter((l) => l !== 0 && l !== except);
          const leader = leaders[0];
          if (leader === undefined) return undefined;
          const agree = leaders.filter((l) => l === leader).length;
          const selfView = views.find((v) =>
            v?.nodes.some((n) => n.id === leader && n.role === "leader" && n.reachable && (n.term ?? 0) > 0),
          );
          return agree > this.brokers.length / 2 && selfView ? leader : undefined;
        },
        { timeoutMs, intervalMs: 50 },
      ),
    );
  }

  /** A failed wait's error with each broker's state and the end of its log, so a rare failure can be explained. */
  private async explained<T>(waiting: Promise<T>): Promise<T> {
    try {
      return await waiting;
    } catch (e) {
      const states = this.brokers.map((b) => {
        const p = b.proc;
        const state = !p
          ? "not started"
          : p.exitCode !== null || p.signalCode !== null
            ? `exited (code ${p.exitCode}, signal ${p.signalCode})`
            : "running";
        return `broker ${b.id}: ${state}`;
      });
      throw new Error(`${e instanceof Error ? e.message : String(e)}\n${states.join("\n")}\n${this.tails(15)}`);
    }
  }

  /**
   * Waits until broker `id` has applied everything the leader had committed when the wait began, as cheap status
   * probes tell: then a test reads what the broker holds once, instead of reading all of it at every poll.
   */
  async waitForCaughtUp(id: number, timeoutMs = 30_000): Promise<void> {
    const leader = await this.waitForLeader(timeoutMs);
    const row = async (of: number) => (await probeStatus(this.broker(of).address))?.nodes.find((n) => n.id === of);
    const committed = await waitFor(
      `the commit index of the leader, broker ${leader}`,
      async () => (await row(leader))?.commitIndex ?? undefined,
      { timeoutMs },
    );
    await waitFor(
      `broker ${id} to apply up to the leader's commit index ${committed}`,
      async () => (((await row(id))?.lastApplied ?? 0) >= committed ? true : undefined),
      { timeoutMs, intervalMs: 100 },
    );
  }

  log(id: number): string {
    return existsSync(this.broker(id).logPath) ? readFileSync(this.broker(id).logPath, "utf8") : "";
  }

  /** Stops every broker; removes the folder unless MQRAFT_KEEP is set (then every cluster's folder stays, for rerunning one failing file). */
  async destroy(): Promise<void> {
    await Promise.all(this.brokers.map((b) => this.stop(b.id)));
    if (!process.env.MQRAFT_KEEP) rmSync(this.dir, { recursive: true, force: true });
  }

  /** The last lines of every broker's log, for failure messages. */
  tails(lines = 20): string {
    return this.brokers
      .map((b) => `--- broker ${b.id} ---\n${this.log(b.id).trimEnd().split("\n").slice(-lines).join("\n")}`)
      .join("\n");
  }
}
