import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { splitAddress } from "../../src/util/config-values.ts";
import {
  type ClientInbound,
  ClientInboundSchema,
  type Connection,
  connect as connectRaw,
  createMessageParser,
} from "../../src/wire/index.ts";
import { runMqraft } from "../support/binary.ts";
import { TestCluster } from "../support/cluster.ts";
import { waitFor } from "../support/wait.ts";

const dir = mkdtempSync(join(tmpdir(), "mqraft-auth-"));
const ADMIN_FILE = join(dir, "admin-token");
const ADMIN = "the admin's own token, 16+ bytes";
writeFileSync(ADMIN_FILE, `${ADMIN}\n`, { mode: 0o600 });

const cluster = await TestCluster.create({ nodes: 3, argsFor: () => ["--admin-token-file", ADMIN_FILE] });
afterAll(async () => {
  await cluster.destroy();
  rmSync(dir, { recursive: true, force: true });
});
const server = () => ["--server", cluster.addresses.join(",")];
/** Runs a client command against the cluster; MQRAFT_TOKEN is cleared so that only the flags given count. */
const mqraft = (...args: string[]) =>
  runMqraft([...args, ...server()], { env: { MQRAFT_TOKEN: "" }, timeoutMs: 30_000 });

/** A raw client connection to one broker: its answer to a hello carrying `token`, and the connection if welcomed. */
async function hello(address: string, token: string) {
  const { host, port } = splitAddress(address);
  const connection: Connection<ClientInbound, unknown> = await connectRaw({
    host,
    port,
    parse: createMessageParser(ClientInboundSchema),
  });
  const received: ClientInbound[] = [];
  connection.onMessage = (m) => received.push(m);
  connection.send({ type: "hello", version: 1, role: "client", token });
  const answer = await waitFor(`${address} to answer hello`, () => received[0]);
  return { answer, received, connection };
}

test("auth on: no token or a wrong one is refused (exit 1, UNAUTHENTICATED); the admin token may do everything", async () => {
  await cluster.waitForLeader();
  const anonymous = await mqraft("pub", "orders1", "hello");
  expect({ code: anonymous.code, stderr: anonymous.stderr }).toMatchObject({
    code: 1,
    stderr: expect.stringContaining("UNAUTHENTICATED"),
  });
  const reader = await mqraft("sub", "orders1", "--from", "earliest", "--drain");
  expect({ code: reader.code, stderr: reader.stderr }).toMatchObject({
    code: 1,
    stderr: expect.stringContaining("UNAUTHENTICATED"),
  });
  const wrong = await mqraft(
    "pub",
    "orders1",
    "hello",
    "--token",
    "mqraft:nobody:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
  );
  expect({ code: wrong.code, stderr: wrong.stderr }).toMatchObject({
    code: 1,
    stderr: expect.stringContaining("UNAUTHENTICATED"),
  });
  const admin = await mqraft("pub", "orders1", "by the admin", "--token-file", ADMIN_FILE, "--json");
  expect({ code: admin.code, stdout: admin.stdout.trim() }).toEqual({
    code: 0,
    stdout: JSON.stringify({ topic: "orders1", offset: 0 }),
  });
});

test("bench e2e --group with the admin token: its group members connect with the token too", async () => {
  await cluster.waitForLeader();
  const r = await mqraft("bench", "e2e", "bench-group", "--group", "g", "--msgs", "300", "--token", ADMIN, "--json");
  expect({ code: r.code, stderr: r.code === 0 ? "" : r.stderr }).toEqual({ code: 0, stderr: "" });
  expect(JSON.parse(r.stdout.trim())).toMatchObject({ msgs: 300 });
});

test("a user with --publish orders* publishes to orders1, is FORBIDDEN on billing, and its subscription to billing is refused", async () => {
  const added = await mqraft(
    "user",
    "add",
    "writer",
    "--publish",
    "orders*",
    "--subscribe",
    "orders*",
    "--token",
    ADMIN,
    "--json",
  );
  expect({ code: added.code, stderr: added.stderr }).toEqual({ code: 0, stderr: "" });
  const { token } = JSON.parse(added.stdout) as { token: string };

  const ok = await mqraft("pub", "orders1", "from writer", "--token", token, "--json");
  expect({ code: ok.code, stdout: ok.stdout.trim() }).toEqual({
    code: 0,
    stdout: JSON.stringify({ topic: "orders1", offset: 1 }),
  });
  const refused = await mqraft("pub", "billing", "from writer", "--token", token);
  expect({ code: refused.code, stderr: refused.stderr }).toMatchObject({
    code: 1,
    stderr: expect.stringMatching(/FORBIDDEN.*publish to billing.*permission: publish/),
  });
  const read = await mqraft("sub", "billing", "--from", "earliest", "--drain", "--token", token);
  expect({ code: read.code, stderr: read.stderr }).toMatchObject({
    code: 1,
    stderr: expect.stringMatching(/FORBIDDEN.*subscribe to billing/),
  });
  const own = await mqraft("sub", "orders1", "--from", "earliest", "--drain", "--token", token, "--json");
  expect({ code: own.code, lines: own.stdout.trim().split("\n").length }).toEqual({ code: 0, lines: 2 });
  // user management is an admin's
  const notAdmin = await mqraft("user", "ls", "--token", token);
  expect({ code: notAdmin.code, stderr: notAdmin.stderr }).toMatchObject({
    code: 1,
    stderr: expect.stringContaining("FORBIDDEN"),
  });
  const listed = await mqraft("user", "ls", "--token", ADMIN, "--json");
  expect(JSON.parse(listed.stdout)).toMatchObject({ name: "writer", publish: ["orders*"], admin: false });
  expect(listed.stdout).not.toContain(token.slice(-43));
});

test("a user removed with user rm is refused on every broker within one second, and its open connections are closed", async () => {
  const added = await mqraft("user", "add", "leaving", "--subscribe", ">", "--token", ADMIN, "--json");
  const { token } = JSON.parse(added.stdout) as { token: string };
  // every broker has applied the user: each welcomes a hello with the token
  const open = await Promise.all(
    cluster.addresses.map((address) =>
      waitFor(`${address} to know user leaving`, async () => {
        const h = await hello(address, token);
        if (h.answer.type === "welcome") return h;
        h.connection.close();
        return undefined;
      }),
    ),
  );
  const removed = await mqraft("user", "rm", "leaving", "--token", ADMIN);
  expect({ code: removed.code, stderr: removed.stderr }).toEqual({ code: 0, stderr: "" });
  for (const [i, address] of cluster.addresses.entries()) {
    const session = open[i] as (typeof open)[number];
    const ended = await waitFor(
      `${address} to close the removed user's connection`,
      () => session.received.find((m) => m.type === "error"),
      { timeoutMs: 1_000, intervalMs: 10 },
    );
    expect(ended).toMatchObject({ code: "UNAUTHENTICATED" });
    const again = await hello(address, token);
    expect(again.answer).toMatchObject({ type: "error", code: "UNAUTHENTICATED" });
    again.connection.close();
  }
});

test("user rotate: the old token is refused, the new one works", async () => {
  const added = await mqraft("user", "add", "rotating", "--publish", "r", "--token", ADMIN, "--json");
  const old = (JSON.parse(added.stdout) as { token: string }).token;
  const rotated = await mqraft("user", "rotate", "rotating", "--token", ADMIN, "--json");
  const fresh = (JSON.parse(rotated.stdout) as { token: string }).token;
  expect(fresh).not.toBe(old);
  const withOld = await mqraft("pub", "r", "x", "--token", old);
  expect({ code: withOld.code, stderr: withOld.stderr }).toMatchObject({
    code: 1,
    stderr: expect.stringContaining("UNAUTHENTICATED"),
  });
  const withNew = await runMqraft(["pub", "r", "x", ...server()], { env: { MQRAFT_TOKEN: fresh } });
  expect({ code: withNew.code, stderr: withNew.stderr }).toEqual({ code: 0, stderr: "" });
});
