import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  type ClientInbound,
  ClientInboundSchema,
  connect as connectRaw,
  createMessageParser,
} from "../../src/wire/index.ts";
import { ManagerProcess } from "../manager/manager-process.ts";
import { frames, sendRaw } from "../manager/raw-bytes.ts";
import { TestCluster } from "../support/cluster.ts";
import { freePorts } from "../support/ports.ts";
import { waitFor } from "../support/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "mqraft-auth-manager-"));
const ADMIN_FILE = join(dir, "admin-token");
const ADMIN = "the admin's own token, 16+ bytes";
writeFileSync(ADMIN_FILE, ADMIN, { mode: 0o600 });
const [managerPort] = (await freePorts(1)) as [number];
const cluster = await TestCluster.create({
  nodes: 3,
  argsFor: () => ["--admin-token-file", ADMIN_FILE, "--manager", `127.0.0.1:${managerPort}`],
});
const manager = new ManagerProcess(managerPort, join(cluster.dir, "manager.log"));
manager.start();
afterAll(async () => {
  await manager.stop();
  await cluster.destroy();
  rmSync(dir, { recursive: true, force: true });
});

/** A hello (with `token`, if any) and one publish through the manager: the two answers. */
async function publishThroughManager(token: string | undefined): Promise<ClientInbound[]> {
  const connection = await connectRaw<ClientInbound, unknown>({
    host: "127.0.0.1",
    port: managerPort,
    parse: createMessageParser(ClientInboundSchema),
  });
  const received: ClientInbound[] = [];
  connection.onMessage = (m) => received.push(m);
  connection.send(token === undefined ? { type: "hello", version: 1 } : { type: "hello", version: 1, token });
  connection.send({ type: "publish", id: 1, topic: "via-manager", data: new TextEncoder().encode("forwarded") });
  try {
    return await waitFor("two answers from the manager", () => (received.length >= 2 ? received : undefined));
  } finally {
    connection.close();
  }
}

test("a request forwarded by a manager goes with the client's token: with it, it is served; without or with a wrong one, UNAUTHENTICATED", async () => {
  const leader = await cluster.waitForLeader();
  await manager.learned(leader, 3);
  const served = await publishThroughManager(ADMIN);
  expect(served.map((a) => a.type)).toEqual(["welcome", "published"]);
  for (const token of [undefined, "mqraft:nobody:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"]) {
    const refused = await publishThroughManager(token);
    expect(refused).toEqual([
      expect.objectContaining({ type: "welcome" }),
      expect.objectContaining({ type: "error", id: 1, code: "UNAUTHENTICATED" }),
    ]);
  }
});

test("before the hello the manager takes no frame over 64 KiB; after it, a large publish goes through", async () => {
  // only the header of a 100 KiB frame: refused from it, before any of the body is buffered
  const early = await sendRaw(managerPort, Uint8Array.from([0, 1, 0x86, 0xa0]));
  expect(early).toEqual({
    answers: [expect.objectContaining({ type: "error", code: "FRAME_TOO_LARGE" })],
    closed: true,
  });
  const data = new Uint8Array(100 * 1024).fill(1);
  const late = await sendRaw(
    managerPort,
    frames({ type: "hello", version: 1, token: ADMIN }, { type: "publish", id: 1, topic: "big", data }),
    3_000,
    2,
  );
  expect(late.answers.map((a) => a.type)).toEqual(["welcome", "published"]);
});
