import { closeSync, existsSync, openSync, rmSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { NO_FSYNC_ENV, SYNCED_LENGTHS_ENV, syncedLengthsPath } from "../../src/node/test-durability.ts";
import { requireTestBinary } from "../support/binary.ts";
import { freePorts } from "../support/ports.ts";
import { fillQuotaDisk, quotaDiskEnv, setQuotaDiskSize } from "../support/small-disk.ts";
import { probeStatus } from "../support/wire-probe.ts";
import { corruptOneRecord, cutToSyncedLengths } from "./disk-faults.ts";
import { type Direction, type LinkMode, TcpProxy } from "./proxy.ts";

export interface ChaosBroker {
  id: number;
  port: number;
  /** The proxy every other broker and every client reaches this broker through; its advertised address. */
  front: TcpProxy;
  dataDir: string;
  logPath: string;
  proc: Subprocess | undefined;
  paused: boolean;
  /** Started with `mqraft join` rather than as a founding member. */
  joiner: boolean;
}

export const HEARTBEAT_MS = 50;
/** Each broker's disk (the test build's, src/node/test-disk.ts) until a disk-full fault shrinks it: 1 TiB. */
const ROOMY_DISK = 2 ** 40;
export const ELECTION_MS = 500;

const live = new Set<Subprocess>();
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

function spawnLogged(args: string[], logPath: string, env: Record<string, string> = {}): Subprocess {
  const fd = openSync(logPath, "a");
  // the test build: the brokers report their fsynced lengths (and may skip fsync), which the release binary cannot
  const proc = Bun.spawn([requireTestBinary(), ...args], {
    stdout: fd,
    stderr: fd,
    stdin: "ignore",
    env: { ...process.env, ...env },
  });
  closeSync(fd);
  live.add(proc);
  void proc.exited.then(() => live.delete(proc));
  return proc;
}

/**
 * Real broker processes and a manager on loopback, where every broker is reached only through its own TcpProxy (its
 * `front`): all brokers are started with the same --peers naming the fronts, and each front tells who dialled from
 * the connection's hello, so the link from broker i to broker j, each way, and the links from clients can be cut
 * apart. Brokers beyond the founding ones are spares that the nemesis can join and remove.
 */
export class ChaosCluster {
  private managerProc: Subprocess | undefined;

  private constructor(
    readonly dir: string,
    readonly brokers: ChaosBroker[],
    readonly founders: number,
    readonly managerAddress: string,
    private readonly brokerEnv: Record<string, string>,
  ) {}

  /**
   * Starts `founders` brokers and the manager; `spares` more brokers are known but not started. With `noFsync` the
   * brokers skip every fsync (a test-only mode): the scratch run that the checker must catch losing acknowledged data.
   */
  static async create(dir: string, founders: number, spares = 1, noFsync = false): Promise<ChaosCluster> {
    const ports = await freePorts(founders + spares + 1);
    const managerPort = ports.pop() as number;
    const brokers: ChaosBroker[] = [];
    for (const [i, port] of ports.entries()) {
      const id = i + 1;
      const front = await TcpProxy.start({ host: "127.0.0.1", port });
      brokers.push({
        id,
        port,
        front,
        dataDir: join(dir, `data-${id}`),
        logPath: join(dir, `broker-${id}.log`),
        proc: undefined,
        paused: false,
        joiner: id > founders,
      });
    }
    // The test-only report of fsynced lengths lets a power cut be simulated (disk-faults.ts).
    const env = { [SYNCED_LENGTHS_ENV]: "1", ...(noFsync ? { [NO_FSYNC_ENV]: "1" } : {}) };
    const cluster = new ChaosCluster(dir, brokers, founders, `127.0.0.1:${managerPort}`, env);
    cluster.startManager();
    for (const b of brokers) if (!b.joiner) cluster.start(b.id);
    return cluster;
  }

  /** Every broker the harness knows, running or not, members or spares. */
  get allIds(): number[] {
    return this.brokers.map((b) => b.id);
  }

  get founderIds(): number[] {
    return this.brokers.filter((b) => !b.joiner).map((b) => b.id);
  }

  /** The addresses clients use: each broker's front. */
  get clientAddresses(): string[] {
    return this.brokers.map((b) => b.front.address);
  }

  realAddress(id: number): string {
    return `127.0.0.1:${this.broker(id).port}`;
  }

  broker(id: number): ChaosBroker {
    const b = this.brokers.find((x) => x.id === id);
    if (b === undefined) throw new Error(`no broker ${id}`);
    return b;
  }

  /**
   * Sets what happens to bytes sent from broker `from` to broker `to`. The one connection between a pair may have
   * been dialled by either side: through `to`'s front (forward from `from`) or through `from`'s (backward to `to`).
   */
  setOneWay(from: number, to: number, mode: LinkMode): void {
    this.broker(to).front.set(mode, "forward", from);
    this.broker(from).front.set(mode, "backward", to);
  }

  setBetween(a: number, b: number, mode: LinkMode): void {
    this.setOneWay(a, b, mode);
    this.setOneWay(b, a, mode);
  }

  /** Sets the links from every client to broker `id`. */
  setClientLinks(id: number, mode: LinkMode, direction?: Direction): void {
    this.broker(id).front.set(mode, direction, "client");
  }

  /** Another process fills broker `id`'s disk until `freeBytes` are left. */
  fillDisk(id: number, freeBytes: number): void {
    fillQuotaDisk(this.broker(id).dataDir, freeBytes);
  }

  /** Broker `id`'s disk is roomy again (space freed, or a larger disk). */
  freeDisk(id: number): void {
    setQuotaDiskSize(this.broker(id).dataDir, ROOMY_DISK);
  }

  healNetwork(): void {
    for (const b of this.brokers) b.front.set({ kind: "pass" });
  }

  /** Starts broker `id` on its data: a founder as `mqraft broker`, a spare as `mqraft join` (which rejoins if it was removed). */
  start(id: number, options: { repair?: boolean } = {}): void {
    const b = this.broker(id);
    if (this.isRunning(id)) throw new Error(`broker ${id} is already running`);
    const founders = this.brokers.filter((x) => !x.joiner);
    const membership = b.joiner
      ? ["join", "--server", founders.map((x) => x.front.address).join(",")]
      : ["broker", "--peers", founders.map((x) => `${x.id}=${x.front.address}`).join(",")];
    const args = [
      ...membership,
      "--id",
      String(id),
      "--port",
      String(b.port),
      "--advertise",
      b.front.address,
      "--data",
      b.dataDir,
      "--manager",
      this.managerAddress,
      "--heartbeat-ms",
      String(HEARTBEAT_MS),
      "--election-ms",
      String(ELECTION_MS),
      "--log-level",
      "info",
      ...(options.repair ? ["--repair"] : []),
    ];
    if (!existsSync(quotaDiskEnv(b.dataDir).MQRAFT_TEST_DISK_FILE as string)) setQuotaDiskSize(b.dataDir, ROOMY_DISK);
    b.proc = spawnLogged(args, b.logPath, { ...this.brokerEnv, ...quotaDiskEnv(b.dataDir) });
    b.paused = false;
  }

  isRunning(id: number): boolean {
    const p = this.broker(id).proc;
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  /** Waits (at most `ms`) for broker `id` to exit by itself; its exit code, or undefined if still running. */
  async exited(id: number, ms: number): Promise<number | undefined> {
    const proc = this.broker(id).proc;
    if (proc === undefined) return undefined;
    return Promise.race([proc.exited, Bun.sleep(ms).then(() => undefined)]);
  }

  async kill(id: number): Promise<void> {
    const b = this.broker(id);
    const proc = b.proc;
    if (proc === undefined || !this.isRunning(id)) return;
    proc.kill("SIGKILL");
    await proc.exited;
    b.paused = false;
  }

  /**
   * kill -9, then every log file cut back to the length the broker last reported fsynced: what a power cut leaves. A
   * broker that never fsyncs (noFsync) made nothing durable: its whole data folder is lost.
   */
  async powerLoss(id: number): Promise<string> {
    await this.kill(id);
    const { dataDir } = this.broker(id);
    if (this.brokerEnv[NO_FSYNC_ENV] !== "1") return cutToSyncedLengths(dataDir);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(syncedLengthsPath(dataDir), { force: true });
    return "never fsynced: its data folder is lost";
  }

  /** Flips one byte inside a record of a stopped broker's log (not the last record: that would pass for a torn write). */
  corrupt(id: number, seed: number): string {
    if (this.isRunning(id)) throw new Error(`broker ${id} must be stopped before its log is corrupted`);
    return corruptOneRecord(this.broker(id).dataDir, seed);
  }

  pause(id: number): void {
    const b = this.broker(id);
    if (!this.isRunning(id) || b.paused) return;
    b.proc?.kill("SIGSTOP");
    b.paused = true;
  }

  resume(id: number): void {
    const b = this.broker(id);
    if (!b.paused) return;
    b.proc?.kill("SIGCONT");
    b.paused = false;
  }

  startManager(): void {
    if (this.managerProc !== undefined && this.managerProc.exitCode === null && this.managerProc.signalCode === null)
      return;
    const port = this.managerAddress.split(":")[1] as string;
    this.managerProc = spawnLogged(["manager", "--port", port, "--log-level", "info"], join(this.dir, "manager.log"));
  }

  async killManager(): Promise<void> {
    const proc = this.managerProc;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill("SIGKILL");
    await proc.exited;
  }

  /** The leader most running, unpaused brokers name, asked directly (not through the proxies). */
  async leader(): Promise<number | undefined> {
    const views = await Promise.all(
      this.brokers
        .filter((b) => this.isRunning(b.id) && !b.paused)
        .map((b) => probeStatus(this.realAddress(b.id), 300)),
    );
    const counts = new Map<number, number>();
    for (const v of views) if (v !== undefined && v.leader !== 0) counts.set(v.leader, (counts.get(v.leader) ?? 0) + 1);
    return [...counts].toSorted((a, b) => b[1] - a[1])[0]?.[0];
  }

  /** The members (voters and learners) in the view of the leader, asked directly; undefined without a leader. */
  async members(): Promise<number[] | undefined> {
    const leader = await this.leader();
    if (leader === undefined) return undefined;
    const view = await probeStatus(this.realAddress(leader), 1_000);
    return view?.nodes.map((n) => n.id).toSorted((a, b) => a - b);
  }

  async destroy(): Promise<void> {
    for (const b of this.brokers) {
      this.resume(b.id);
      await this.kill(b.id);
    }
    await this.killManager();
    await Promise.all(this.brokers.map((b) => b.front.close()));
  }
}
