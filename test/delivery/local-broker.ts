import { afterEach } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as v from "valibot";
import { type ClientOptions, connect, type MqraftClient } from "../../src/client/index.ts";
import { type BrokerConfig, BrokerConfigSchema } from "../../src/node/broker-config.ts";
import { BrokerNode } from "../../src/node/broker-node.ts";
import { freePorts } from "../support/ports.ts";
import { waitFor } from "../support/wait.ts";
import { probeStatus } from "../support/wire-probe.ts";

/**
 * One-node brokers run inside the test process (no binary, no child process), for tests of what
 * one broker serves: sessions, subscriptions, the state machine behind them. Stop them in afterEach.
 */
export class LocalBroker {
  node: BrokerNode | undefined;

  private constructor(
    readonly config: BrokerConfig,
    private readonly dir: string,
  ) {}

  static async start(overrides: Partial<BrokerConfig> = {}): Promise<LocalBroker> {
    const dir = mkdtempSync(join(tmpdir(), "mqraft-local-"));
    const [port] = (await freePorts(1)) as [number];
    const address = `127.0.0.1:${port}`;
    const config = v.parse(BrokerConfigSchema, {
      id: 1,
      host: "127.0.0.1",
      port,
      advertise: address,
      peers: [{ id: 1, address }],
      dataDir: join(dir, "data"),
      managers: [],
      heartbeatMs: 20,
      electionMs: 100,
      retention: {},
      maxFrameBytes: 16 << 20,
      segmentBytes: 1 << 20,
      repair: false,
      snapshotEvery: 10_000,
      ...overrides,
    });
    const broker = new LocalBroker(config, dir);
    await broker.restart();
    return broker;
  }

  get address(): string {
    return this.config.advertise;
  }

  /** Starts the node again on the same data folder (it must be stopped). */
  async restart(): Promise<void> {
    const node = await BrokerNode.start(this.config);
    this.node = node;
    await waitFor(
      "the one-node broker to lead",
      async () => ((await probeStatus(this.address))?.leader === 1 ? true : undefined),
      { timeoutMs: 10_000 },
    );
  }

  async stop(): Promise<void> {
    await this.node?.stop();
    this.node = undefined;
  }

  async destroy(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A LocalBroker and client library clients for each test of a file: call once at the top level; what
 * `start` and `client` made is closed and removed after each test, also when it fails.
 */
export function localBrokerPerTest(): {
  start(overrides?: Partial<BrokerConfig>): Promise<LocalBroker>;
  client(options?: Partial<ClientOptions>): Promise<MqraftClient>;
  readonly broker: LocalBroker;
} {
  let broker: LocalBroker | undefined;
  const clients: MqraftClient[] = [];
  afterEach(async () => {
    await Promise.all(clients.splice(0).map((c) => c.close().catch(() => {})));
    await broker?.destroy();
    broker = undefined;
  });
  return {
    async start(overrides = {}) {
      broker = await LocalBroker.start(overrides);
      return broker;
    },
    async client(options = {}) {
      if (broker === undefined) throw new Error("start the broker first");
      const c = await connect({ servers: [broker.address], timeoutMs: 20_000, resumeTimeoutMs: 20_000, ...options });
      clients.push(c);
      return c;
    },
    get broker() {
      if (broker === undefined) throw new Error("start the broker first");
      return broker;
    },
  };
}
