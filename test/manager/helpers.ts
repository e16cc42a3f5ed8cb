import { ClusterManager, type ManagerConfigInput } from "../../src/manager/index.ts";
import { splitAddress } from "../../src/util/config-values.ts";
import { configureLogging } from "../../src/util/log.ts";
import {
  type ClientInbound,
  ClientInboundSchema,
  type Connection,
  connect,
  createMessageParser,
  type Report,
  type Welcome,
} from "../../src/wire/index.ts";
import { waitFor } from "../support/wait.ts";

const parse = createMessageParser(ClientInboundSchema);

export interface RawConnection {
  connection: Connection<ClientInbound, unknown>;
  received: ClientInbound[];
}

/** A raw protocol connection that has sent its hello (as a client unless a peer id is given). */
export async function openRaw(address: string, peerId?: number): Promise<RawConnection> {
  const { host, port } = splitAddress(address);
  const connection = await connect<ClientInbound, unknown>({ host, port, parse });
  const received: ClientInbound[] = [];
  connection.onMessage = (m) => received.push(m);
  connection.send(
    peerId === undefined
      ? { type: "hello", version: 1, role: "client" }
      : { type: "hello", version: 1, role: "peer", id: peerId },
  );
  return { connection, received };
}

/** The answer carrying `id`, once it has come. */
export function answerTo(raw: RawConnection, id: number, timeoutMs = 5_000): Promise<ClientInbound> {
  return waitFor(`the answer to request ${id}`, () => raw.received.find((m) => "id" in m && m.id === id), {
    timeoutMs,
    intervalMs: 5,
  });
}

/** What a client's hello to `address` is answered with now. */
export async function welcomeFrom(address: string): Promise<Welcome> {
  const raw = await openRaw(address);
  try {
    const welcome = await waitFor(
      `a welcome from ${address}`,
      () => raw.received.find((m) => m.type === "welcome" || m.type === "error"),
      { intervalMs: 5 },
    );
    if (welcome.type !== "welcome") throw new Error(`expected welcome, got ${JSON.stringify(welcome)}`);
    return welcome;
  } finally {
    raw.connection.close();
  }
}

/** Sends `report` as broker `report.nodeId` would and waits until the manager names `report.leader` as leader. */
export async function reportAndWait(manager: ClusterManager, report: Report): Promise<RawConnection> {
  const peer = await openRaw(manager.address, report.nodeId);
  peer.connection.send(report);
  await waitFor(
    `the manager to name node ${report.leader} as leader`,
    async () => ((await welcomeFrom(manager.address)).leader === report.leader ? true : undefined),
    {
      intervalMs: 10,
    },
  );
  return peer;
}

/** Log lines written while the test runs; call `restore` afterwards. */
export function captureLogs(level: "info" | "debug" = "info"): { lines: string[]; restore: () => void } {
  const lines: string[] = [];
  configureLogging({ level, format: "text", write: (line) => lines.push(line) });
  return { lines, restore: () => configureLogging({ level: "info", format: "text" }) };
}

/** A manager on a free loopback port. */
export function startManager(overrides: Partial<ManagerConfigInput> = {}): ClusterManager {
  return ClusterManager.start({ host: "127.0.0.1", port: 0, ...overrides });
}
