import { afterAll, expect, test } from "bun:test";
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { splitAddress } from "../../src/util/config-values.ts";
import {
  type ClientInbound,
  ClientInboundSchema,
  type ClientTls,
  type Connection,
  connect as connectRaw,
  createMessageParser,
  setDialTls,
} from "../../src/wire/index.ts";
import { runMqraft } from "../support/binary.ts";
import { TestCluster } from "../support/cluster.ts";
import { freePorts } from "../support/ports.ts";
import { haveOpenssl, makeTestCa } from "../support/test-ca.ts";
import { waitFor } from "../support/wait.ts";

const openssl = haveOpenssl();
if (!openssl)
  console.warn("tls.test.ts: skipped: no openssl(1) to make a test CA with (make test installs it as root)");
const maybe = openssl ? test : test.skip;

const dir = mkdtempSync(join(tmpdir(), "mqraft-tls-"));
const ca = openssl ? makeTestCa(dir) : undefined;
const server = ca?.issue("server");
const client = ca?.issue("client");
const tlsArgs = () => ["--tls-cert", server!.cert, "--tls-key", server!.key, "--tls-ca", ca!.ca];
const clientTlsArgs = () => ["--tls-ca", ca!.ca, "--tls-cert", client!.cert, "--tls-key", client!.key];
const clientTls = (): ClientTls => ({
  ca: readFileSync(ca!.ca, "utf8"),
  cert: readFileSync(client!.cert, "utf8"),
  key: readFileSync(client!.key, "utf8"),
});

// this process's own probes (TestCluster.waitForLeader) dial the brokers with TLS too
if (openssl) setDialTls(clientTls());
// each broker serves its HTTP port too: on HTTPS, with the same files
const httpPorts = openssl ? await freePorts(3) : [];
const cluster = openssl
  ? await TestCluster.create({
      nodes: 3,
      argsFor: (id) => [...tlsArgs(), "--http-port", String(httpPorts[id - 1]), "--hello-timeout", "1s"],
    })
  : undefined;
afterAll(async () => {
  setDialTls(undefined);
  await cluster?.destroy();
  rmSync(dir, { recursive: true, force: true });
});
const servers = () => ["--server", cluster!.addresses.join(",")];

maybe("publish and subscribe through TLS on 3 brokers that verify each other (mutual TLS)", async () => {
  await cluster!.waitForLeader();
  const pub = await runMqraft(["pub", "secure", "over TLS", "--json", ...servers(), ...clientTlsArgs()]);
  expect({ code: pub.code, stdout: pub.stdout.trim(), stderr: pub.stderr }).toEqual({
    code: 0,
    stdout: JSON.stringify({ topic: "secure", offset: 0 }),
    stderr: "",
  });
  // read from a follower: it holds the message only through TLS links to the leader
  const follower = cluster!.brokers.find((b) => b.id !== undefined && b.address !== undefined)!;
  const sub = await runMqraft([
    "sub",
    "secure",
    "--from",
    "earliest",
    "--drain",
    "--json",
    "--server",
    follower.address,
    ...clientTlsArgs(),
  ]);
  expect({ code: sub.code, message: JSON.parse(sub.stdout) }).toMatchObject({
    code: 0,
    message: { topic: "secure", offset: 0, data: "over TLS" },
  });
  const status = await runMqraft(["status", "--json", ...servers(), ...clientTlsArgs()]);
  const nodes = (JSON.parse(status.stdout) as { nodes: { reachable: boolean }[] }).nodes;
  expect(nodes.map((n) => n.reachable)).toEqual([true, true, true]);
});

maybe(
  "a clear-text client against a TLS port gets a clear error and exit 1, at once; so does one without a client certificate",
  async () => {
    const clear = await runMqraft(["pub", "secure", "in clear", ...servers(), "--timeout", "30s"]);
    expect({ code: clear.code, stderr: clear.stderr }).toMatchObject({
      code: 1,
      stderr: expect.stringContaining("speaks TLS"),
    });
    const anonymous = await runMqraft([
      "pub",
      "secure",
      "no certificate",
      ...servers(),
      "--tls-ca",
      ca!.ca,
      "--timeout",
      "30s",
    ]);
    expect(anonymous.code).toBe(1);
    expect(anonymous.stderr).toMatch(/CERTIFICATE_REQUIRED|certificate/i);
  },
);

/**
 * A TCP proxy in front of one broker that flips one byte of what the client sends once `after` bytes went through:
 * inside TLS, that breaks a record's authentication tag.
 */
function flippingProxy(target: string, after: number) {
  const { host, port } = splitAddress(target);
  let seen = 0;
  let flipped = false;
  const listener = Bun.listen<{ upstream?: import("bun").Socket<unknown>; early: Uint8Array[] }>({
    hostname: "127.0.0.1",
    port: 0,
    data: { early: [] },
    socket: {
      async open(downstream) {
        downstream.data = { early: [] };
        const upstream = await Bun.connect({
          hostname: host,
          port,
          socket: {
            data: (_s, chunk) => {
              downstream.write(chunk);
            },
            close: () => {
              downstream.end();
            },
            error: () => {
              downstream.end();
            },
          },
        });
        downstream.data.upstream = upstream;
        for (const chunk of downstream.data.early) upstream.write(chunk);
      },
      data(downstream, chunk) {
        const bytes = new Uint8Array(chunk);
        if (!flipped && seen + bytes.length > after) {
          const at = Math.max(0, after - seen);
          bytes[at] = (bytes[at] as number) ^ 0x01;
          flipped = true;
        }
        seen += bytes.length;
        if (downstream.data.upstream === undefined) downstream.data.early.push(bytes);
        else downstream.data.upstream.write(bytes);
      },
      close: (downstream) => {
        downstream.data.upstream?.end();
      },
    },
  });
  return { address: `127.0.0.1:${listener.port}`, stop: () => listener.stop(true), flipped: () => flipped };
}

maybe(
  "a proxy that flips one byte of the TLS stream breaks the connection, and no stored message is altered",
  async () => {
    const leader = cluster!.broker(await cluster!.waitForLeader());
    // the hello and the handshake are done by about 3 KB; the flip lands among the publishes
    const proxy = flippingProxy(leader.address, 6_000);
    const { host, port } = splitAddress(proxy.address);
    const connection: Connection<ClientInbound, unknown> = await connectRaw({
      host,
      port,
      parse: createMessageParser(ClientInboundSchema),
      tls: clientTls(),
    });
    const received: ClientInbound[] = [];
    connection.onMessage = (m) => received.push(m);
    connection.send({ type: "hello", version: 1, role: "client" });
    const payload = (i: number) => new TextEncoder().encode(`message ${i} `.padEnd(200, "."));
    for (let i = 0; i < 200; i++) connection.send({ type: "publish", id: i, topic: "flipped", data: payload(i) });
    const reason = await connection.closed;
    proxy.stop();
    expect(proxy.flipped()).toBe(true);
    expect(reason?.code).toBe("CONNECTION_CLOSED");
    const acked = received.filter((m) => m.type === "published").length;
    expect(acked).toBeLessThan(200);
    // what the broker stored is a prefix of what was sent, each message exactly as sent
    const read = await runMqraft([
      "sub",
      "flipped",
      "--from",
      "earliest",
      "--drain",
      "--json",
      ...servers(),
      ...clientTlsArgs(),
    ]);
    const stored = read.stdout
      .trim()
      .split("\n")
      .filter((l) => l !== "")
      .map((l) => {
        const { topic, offset, data } = JSON.parse(l) as { topic: string; offset: number; data: string };
        return { topic, offset, data };
      });
    expect(stored.length).toBeGreaterThanOrEqual(acked);
    expect(stored).toEqual(
      stored.map((_, i) => ({ topic: "flipped", offset: i, data: new TextDecoder().decode(payload(i)) })),
    );
  },
);

maybe(
  "SIGHUP reloads the certificate files: new connections get the new certificate, on the HTTP port too",
  async () => {
    const b = cluster!.broker(1);
    const httpPort = httpPorts[0] as number;
    const served = async (port = splitAddress(b.address).port): Promise<string> => {
      const host = "127.0.0.1";
      const got = Promise.withResolvers<string>();
      const s = await Bun.connect({
        hostname: host,
        port,
        tls: clientTls(),
        socket: {
          handshake: (socket) => got.resolve(String(socket.getPeerCertificate()?.serialNumber)),
          data: () => {},
          error: (_s, e) => got.reject(e),
        },
      });
      const serial = await got.promise;
      s.end();
      return serial;
    };
    const before = await served();
    expect(await served(httpPort)).toBe(before);
    const renewed = ca!.issue("server-renewed");
    copyFileSync(renewed.cert, server!.cert);
    copyFileSync(renewed.key, server!.key);
    b.proc?.kill("SIGHUP");
    await waitFor("the broker to reload its certificate", () =>
      cluster!.log(1).includes("Reloaded the TLS certificate files") ? true : undefined,
    );
    const after = await waitFor("a new connection to see the renewed certificate", async () => {
      const serial = await served();
      return serial !== before ? serial : undefined;
    });
    expect(after).not.toBe(before);
    expect(
      await waitFor("the HTTP port to show the renewed certificate", async () => {
        const serial = await served(httpPort);
        return serial !== before ? serial : undefined;
      }),
    ).toBe(after);
    const health = await fetch(`https://127.0.0.1:${httpPort}/healthz`, { tls: clientTls() });
    expect(health.status).toBe(200);
    const pub = await runMqraft(["pub", "secure", "after reload", ...servers(), ...clientTlsArgs()]);
    expect(pub.code).toBe(0);
  },
);

maybe("a connection that starts no TLS handshake is cut after --hello-timeout", async () => {
  await cluster!.waitForLeader();
  const { port } = splitAddress(cluster!.broker(1).address);
  const closed = Promise.withResolvers<boolean>();
  const socket = await Bun.connect({
    hostname: "127.0.0.1",
    port,
    socket: { data: () => {}, close: () => closed.resolve(true), error: () => closed.resolve(true) },
  });
  const timer = setTimeout(() => closed.resolve(false), 8_000);
  expect(await closed.promise).toBe(true);
  clearTimeout(timer);
  socket.end();
  // cut by the deadline of --hello-timeout 1s, not by anything else
  await waitFor("the broker to log the missed handshake deadline", () =>
    cluster!.log(1).includes("A TLS handshake failed: no TLS handshake within 1000 ms") ? true : undefined,
  );
});
