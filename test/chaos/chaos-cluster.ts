import type { Subprocess } from "bun";
import { closeSync, openSync } from "node:fs";
import { join } from "node:path";
import { requireBinary } from "../support/binary.ts";
import { freePorts } from "../support/ports.ts";
import { probeStatus } from "../support/wire-probe.ts";
import { type Direction, type LinkMode, TcpProxy } from "./proxy.ts";

export interface ChaosBroker {
  id: number;
  port: number;
  dataDir: string;
  logPath: string;
  proc: Subprocess | undefined;
  paused: boolean;
}

export const HEARTBEAT_MS = 50;
export const ELECTION_MS = 500;

const live = new Set<Subprocess>();
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

/**
 * Real broker processes on loopback where every link the harness controls passes through a TcpProxy: broker i
 * reaches broker j only through the proxy `links[i→j]` (its --peers names that proxy for j), and clients reach
 * broker j through `clientProxies[j]`, or through a `links[i→j]` whose address broker i taught them; the proxies
 * tell the two kinds of connection apart by their hello.
 */
export class ChaosCluster {
  private constructor(
    readonly dir: string,
    readonly brokers: ChaosBroker[],
    private readonly links: Map<string, TcpProxy>,
    private readonly clientProxies: Map<number, TcpProxy>,
  ) {}

  static async create(dir: string, nodes: number): Promise<ChaosCluster> {
    const ports = await freePorts(nodes);
    const brokers = ports.map((port, i): ChaosBroker => ({
      id: i + 1, port, dataDir: join(dir, `data-${i + 1}`), logPath: join(dir, `broker-${i + 1}.log`), proc: undefined, paused: false,
    }));
    const links = new Map<string, TcpProxy>();
    const clientProxies = new Map<number, TcpProxy>();
    for (const to of brokers) {
      const target = { host: "127.0.0.1", port: to.port };
      clientProxies.set(to.id, await TcpProxy.start(target));
      for (const from of brokers) if (from.id !== to.id) links.set(`${from.id}>${to.id}`, await TcpProxy.start(target));
    }
    const cluster = new ChaosCluster(dir, brokers, links, clientProxies);
    for (const b of brokers) cluster.start(b.id);
    return cluster;
  }

  get ids(): number[] {
    return this.brokers.map((b) => b.id);
  }

  /** The addresses clients use: each broker's client proxy. */
  get clientAddresses(): string[] {
    return this.brokers.map((b) => this.clientProxy(b.id).address);
  }

  realAddress(id: number): string {
    return `127.0.0.1:${this.broker(id).port}`;
  }

  broker(id: number): ChaosBroker {
    const b = this.brokers.find((x) => x.id === id);
    if (b === undefined) throw new Error(`no broker ${id}`);
    return b;
  }

  clientProxy(id: number): TcpProxy {
    const p = this.clientProxies.get(id);
    if (p === undefined) throw new Error(`no client proxy for broker ${id}`);
    return p;
  }

  /**
   * Sets what happens to bytes sent from `from` to `to`. The one connection between a pair may have been dialled
   * by either side, so both proxies of the pair are set: forward on from→to, backward on to→from. Only connections
   * between brokers are touched: clients that learnt a broker-link address from a welcome are not brokers.
   */
  setOneWay(from: number, to: number, mode: LinkMode): void {
    this.link(from, to).set(mode, "forward", "peer");
    this.link(to, from).set(mode, "backward", "peer");
  }

  setBetween(a: number, b: number, mode: LinkMode): void {
    this.setOneWay(a, b, mode);
    this.setOneWay(b, a, mode);
  }

  /** Sets the links from every client to broker `id`: its client proxy and the broker-link proxies clients learnt. */
  setClientLinks(id: number, mode: LinkMode, direction?: Direction): void {
    this.clientProxy(id).set(mode, direction);
    for (const from of this.ids) if (from !== id) this.link(from, id).set(mode, direction, "client");
  }

  healNetwork(): void {
    for (const p of [...this.links.values(), ...this.clientProxies.values()]) p.set({ kind: "pass" });
  }

  start(id: number): void {
    const b = this.broker(id);
    if (this.isRunning(id)) throw new Error(`broker ${id} is already running`);
    const peers = this.brokers.map((p) => `${p.id}=${p.id === id ? this.realAddress(id) : this.link(id, p.id).address}`).join(",");
    const args = [
      "broker", "--peers", peers, "--id", String(id), "--port", String(b.port), "--data", b.dataDir,
      "--heartbeat-ms", String(HEARTBEAT_MS), "--election-ms", String(ELECTION_MS), "--log-level", "info",
    ];
    const fd = openSync(b.logPath, "a");
    const proc = Bun.spawn([requireBinary(), ...args], { stdout: fd, stderr: fd, stdin: "ignore" });
    closeSync(fd);
    b.proc = proc;
    b.paused = false;
    live.add(proc);
    void proc.exited.then(() => live.delete(proc));
  }

  isRunning(id: number): boolean {
    const p = this.broker(id).proc;
    return p !== undefined && p.exitCode === null && p.signalCode === null;
  }

  async kill(id: number): Promise<void> {
    const b = this.broker(id);
    const proc = b.proc;
    if (proc === undefined || !this.isRunning(id)) return;
    proc.kill("SIGKILL");
    await proc.exited;
    b.paused = false;
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

  /** The leader most running, unpaused brokers name, asked directly (not through the proxies). */
  async leader(): Promise<number | undefined> {
    const views = await Promise.all(this.brokers.filter((b) => this.isRunning(b.id) && !b.paused).map((b) => probeStatus(this.realAddress(b.id), 300)));
    const counts = new Map<number, number>();
    for (const v of views) if (v !== undefined && v.leader !== 0) counts.set(v.leader, (counts.get(v.leader) ?? 0) + 1);
    return [...counts].toSorted((a, b) => b[1] - a[1])[0]?.[0];
  }

  async destroy(): Promise<void> {
    for (const b of this.brokers) {
      this.resume(b.id);
      await this.kill(b.id);
    }
    await Promise.all([...this.links.values(), ...this.clientProxies.values()].map((p) => p.close()));
  }

  private link(from: number, to: number): TcpProxy {
    const p = this.links.get(`${from}>${to}`);
    if (p === undefined) throw new Error(`no link ${from}→${to}`);
    return p;
  }
}
