import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { MqraftError } from "../../src/util/errors.ts";
import { connect } from "../../src/wire/connect.ts";
import { listen } from "../../src/wire/listen.ts";
import { createMessageParser } from "../../src/wire/messages/parse.ts";
import { ClientInboundSchema, type ServerInbound, ServerInboundSchema } from "../../src/wire/messages/unions.ts";
import { haveOpenssl, makeTestCa } from "../support/test-ca.ts";
import { waitFor } from "../support/wait.ts";

// A listener with a certificate and no CA serves clients that verify it and show no certificate of their own
// (docs/security.md): the broker's --tls-cert and --tls-key without --tls-ca.
const openssl = haveOpenssl();
if (!openssl) console.warn("tls-server-only.test.ts: skipped: no openssl(1) to make a test CA with");
const maybe = openssl ? test : test.skip;
const dir = mkdtempSync(join(tmpdir(), "mqraft-tls-server-only-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ca = openssl ? makeTestCa(join(dir, "ca")) : undefined;
const other = openssl ? makeTestCa(join(dir, "other"), "other") : undefined;
const pem = (path: string) => readFileSync(path, "utf8");

function serverOnlyListener(received: ServerInbound[], failures: string[]) {
  const server = ca!.issue("server");
  return listen<ServerInbound>({
    host: "127.0.0.1",
    port: 0,
    parse: createMessageParser(ServerInboundSchema),
    tls: { cert: pem(server.cert), key: pem(server.key) },
    onHandshakeFailed: (e) => failures.push(e.message),
    onConnection: (connection) => {
      connection.onMessage = (m) => received.push(m);
    },
  });
}

/** A client of `listener` that verifies it against the CA in `caFile` and shows no certificate of its own. */
const dial = (listener: { port: number }, caFile: string) =>
  connect({
    host: "127.0.0.1",
    port: listener.port,
    parse: createMessageParser(ClientInboundSchema),
    tls: { ca: pem(caFile) },
  });

maybe("a listener without a CA takes a client that verifies it and shows no certificate", async () => {
  const received: ServerInbound[] = [];
  const failures: string[] = [];
  const listener = serverOnlyListener(received, failures);
  try {
    const client = await dial(listener, ca!.ca);
    client.send({ type: "hello", version: 1, role: "client" });
    await waitFor("the hello at the listener", () => (received.length > 0 ? true : undefined));
    client.close();
    expect({ received: received.map((m) => m.type), failures }).toEqual({ received: ["hello"], failures: [] });
  } finally {
    listener.stop();
  }
});

maybe("a client still refuses a listener whose certificate its own CA did not sign", async () => {
  const failures: string[] = [];
  const listener = serverOnlyListener([], failures);
  try {
    const refused = await dial(listener, other!.ca).then(
      (connection) => {
        connection.close();
        return "connected";
      },
      (e: unknown) => e,
    );
    expect(refused).toBeInstanceOf(MqraftError);
    expect((refused as MqraftError).message).toContain("unable to verify the first certificate");
  } finally {
    listener.stop();
  }
});
