import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import type { Subprocess } from "bun";
import type { ClientInbound, Welcome } from "../../src/wire/index.ts";
import { requireBinary } from "../support/binary.ts";
import { waitFor } from "../support/wait.ts";
import { openClient } from "../support/wire-probe.ts";

const live = new Set<Subprocess>();
// A test that throws before its cleanup still must not leave managers running.
process.on("exit", () => {
  for (const p of live) p.kill("SIGKILL");
});

/** A real `mqraft manager` process on a fixed port, logging to a file that every run of it appends to. */
export class ManagerProcess {
  private proc: Subprocess | undefined;

  constructor(
    readonly port: number,
    readonly logPath: string,
    private readonly extraArgs: string[] = [],
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  start(): void {
    if (this.proc !== undefined && this.proc.exitCode === null && this.proc.signalCode === null)
      throw new Error(`manager ${this.port} is already running`);
    const fd = openSync(this.logPath, "a");
    const proc = Bun.spawn(
      [requireBinary(), "manager", "--port", String(this.port), "--log-level", "debug", ...this.extraArgs],
      {
        stdout: fd,
        stderr: fd,
        stdin: "ignore",
      },
    );
    closeSync(fd);
    this.proc = proc;
    live.add(proc);
    void proc.exited.then(() => live.delete(proc));
  }

  async stop(signal: "SIGKILL" | "SIGTERM" = "SIGKILL"): Promise<void> {
    const proc = this.proc;
    if (proc === undefined || proc.exitCode !== null || proc.signalCode !== null) return;
    proc.kill(signal);
    await proc.exited;
  }

  log(): string {
    return existsSync(this.logPath) ? readFileSync(this.logPath, "utf8") : "";
  }

  /** What a client's hello gets now, or undefined if the manager does not answer within a second. */
  async welcome(): Promise<Welcome | undefined> {
    let client: { connection: { close(): void; isOpen: boolean }; received: ClientInbound[] } | undefined;
    try {
      client = await openClient(this.address);
      const c = client;
      return await waitFor(
        "a welcome",
        () => {
          const welcome = c.received.find((m) => m.type === "welcome");
          if (welcome?.type === "welcome") return welcome;
          if (!c.connection.isOpen) throw new Error("closed without a welcome");
          return undefined;
        },
        { timeoutMs: 1_000, intervalMs: 5 },
      );
    } catch {
      return undefined;
    } finally {
      client?.connection.close();
    }
  }

  /** Resolves once the manager's welcome names `leader` among `members` brokers. */
  async learned(leader: number, members: number, timeoutMs = 10_000): Promise<void> {
    await waitFor(
      `manager ${this.address} to name node ${leader} as leader of ${members} brokers`,
      async () => {
        const welcome = await this.welcome();
        return welcome?.leader === leader && welcome.members?.length === members ? true : undefined;
      },
      { timeoutMs, intervalMs: 20 },
    );
  }
}
