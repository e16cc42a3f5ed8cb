import { afterEach, describe, expect, test } from "bun:test";
import { isMqraftError, MqraftError } from "../../src/util/errors.ts";
import { connect } from "../../src/wire/connect.ts";
import type { Connection } from "../../src/wire/connection.ts";
import { encodeFrame } from "../../src/wire/frame-encoder.ts";
import { helloError } from "../../src/wire/handshake.ts";
import { type Listener, listen } from "../../src/wire/listen.ts";
import { type Hello, PROTOCOL_VERSION, type Welcome } from "../../src/wire/messages/handshake.ts";
import { createMessageParser } from "../../src/wire/messages/parse.ts";
import {
  type ClientInbound,
  ClientInboundSchema,
  type ServerInbound,
  ServerInboundSchema,
} from "../../src/wire/messages/unions.ts";
import { concat, expectErrorCode, header, rawConnect, waitFor, within } from "./helpers.ts";

const parseServerInbound = createMessageParser(ServerInboundSchema);
const parseClientInbound = createMessageParser(ClientInboundSchema);

type ServerSide = Connection<ServerInbound, Welcome>;

interface TestServer {
  listener: Listener;
  connections: ServerSide[];
  closeReasons: (MqraftError | null)[];
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A server that answers a hello with welcome, or with the handshake's error and a close. */
function startServer(overrides: { onMessage?: (c: ServerSide, m: ServerInbound) => void } = {}): TestServer {
  const server: TestServer = { connections: [], closeReasons: [], listener: undefined as unknown as Listener };
  server.listener = listen<ServerInbound, Welcome>({
    host: "127.0.0.1",
    port: 0,
    parse: parseServerInbound,
    onConnection(connection) {
      server.connections.push(connection);
      connection.onClose = (reason) => server.closeReasons.push(reason);
      connection.onMessage = (message) => {
        if (overrides.onMessage) return overrides.onMessage(connection, message);
        if (message.type !== "hello") return;
        const refusal = helloError(message);
        if (refusal) connection.close(refusal);
        else connection.send({ type: "welcome", version: PROTOCOL_VERSION, nodeId: 1 });
      };
    },
  });
  cleanups.push(() => server.listener.stop());
  return server;
}

async function client(
  port: number,
): Promise<{ connection: Connection<ClientInbound, Hello>; received: ClientInbound[] }> {
  const connection = await connect<ClientInbound, Hello>({ host: "127.0.0.1", port, parse: parseClientInbound });
  cleanups.push(() => connection.close());
  const received: ClientInbound[] = [];
  connection.onMessage = (message) => received.push(message);
  return { connection, received };
}

async function roundTrip(port: number): Promise<void> {
  const { connection, received } = await client(port);
  connection.send({ type: "hello", version: PROTOCOL_VERSION, role: "client" });
  await waitFor(
    () => received.length > 0,
    () => "a welcome",
  );
  expect(received[0]).toEqual({ type: "welcome", version: PROTOCOL_VERSION, nodeId: 1 });
  connection.close();
  await within(connection.closed, "the client's close");
}

describe("Connection over loopback", () => {
  test("hello is answered with welcome", async () => {
    const server = startServer();
    await roundTrip(server.listener.port);
  });

  test("a hello of another version gets UNSUPPORTED_VERSION and a close", async () => {
    const server = startServer();
    const { connection, received } = await client(server.listener.port);
    connection.send({ type: "hello", version: PROTOCOL_VERSION + 1 });
    const reason = await within(connection.closed, "the server to close the connection");
    expect(received).toHaveLength(1);
    expectErrorCode(received[0], "UNSUPPORTED_VERSION");
    expect(isMqraftError(reason, "CONNECTION_CLOSED")).toBe(true);
    await waitFor(
      () => server.closeReasons.length === 1,
      () => "the server side to close",
    );
    expect(isMqraftError(server.closeReasons[0], "UNSUPPORTED_VERSION")).toBe(true);
  });

  test.each([
    ["an oversized length", "FRAME_TOO_LARGE", header(16 * 1024 * 1024 + 1)],
    ["bytes that are not CBOR", "BAD_FRAME", concat(header(3), new Uint8Array([0xff, 0xfe, 0x1c]))],
    ["an unknown message type", "BAD_MESSAGE", encodeFrame({ type: "launch", version: 1 })],
    ["a malformed hello", "BAD_MESSAGE", encodeFrame({ type: "hello", version: "one" })],
    ["a CBOR nesting bomb", "BAD_FRAME", concat(header(4_000_000), new Uint8Array(4_000_000).fill(0x81))],
  ])("%s gets an error frame and a close; other connections go on", async (_name, code, bytes) => {
    const server = startServer();
    const bystander = await client(server.listener.port);
    const peer = await rawConnect(server.listener.port);
    cleanups.push(() => peer.socket.terminate());
    // one valid frame first: the error must come after its answer, on the same connection
    peer.socket.write(encodeFrame({ type: "hello", version: PROTOCOL_VERSION }));
    let offset = 0;
    while (offset < bytes.length) {
      const n = peer.socket.write(bytes.subarray(offset));
      if (n < 0) throw new Error("the server closed before the bad input was written");
      offset += n;
      if (offset < bytes.length) await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await within(peer.closed, `the server to close after ${code}`);
    expect(peer.values).toHaveLength(2);
    expect(peer.values[0]).toMatchObject({ type: "welcome" });
    expectErrorCode(peer.values[1], code);
    await waitFor(
      () => server.closeReasons.length === 1,
      () => "the server side to close",
    );
    expect(server.closeReasons[0]?.code).toBe(code as MqraftError["code"]);

    bystander.connection.send({ type: "hello", version: PROTOCOL_VERSION });
    await waitFor(
      () => bystander.received.length === 1,
      () => "the bystander's welcome",
    );
    await roundTrip(server.listener.port);
  });

  test("the BAD_MESSAGE reason names the bad field", async () => {
    const server = startServer();
    const peer = await rawConnect(server.listener.port);
    cleanups.push(() => peer.socket.terminate());
    peer.socket.write(encodeFrame({ type: "hello", version: 1, role: "admin" }));
    await within(peer.closed, "the close");
    expect(peer.values[0]).toMatchObject({ type: "error", code: "BAD_MESSAGE" });
    expect((peer.values[0] as { message: string }).message).toStartWith("hello.role: ");
  });

  test("an exception in onMessage closes that connection with INTERNAL", async () => {
    const server = startServer({
      onMessage: () => {
        throw new Error("handler bug");
      },
    });
    const { connection, received } = await client(server.listener.port);
    connection.send({ type: "hello", version: PROTOCOL_VERSION });
    await within(connection.closed, "the close");
    expectErrorCode(received[0], "INTERNAL");
    expect((received[0] as { message: string }).message).toContain("handler bug");
  });

  test("close() sends everything queued first, then closes cleanly", async () => {
    const count = 5_000;
    const server = startServer({
      onMessage: (connection) => {
        for (let i = 0; i < count; i++) connection.send({ type: "welcome", version: 1, nodeId: i + 1 });
        connection.close();
      },
    });
    const { connection, received } = await client(server.listener.port);
    connection.send({ type: "hello", version: PROTOCOL_VERSION });
    const reason = await within(connection.closed, "the server's close");
    expect(isMqraftError(reason, "CONNECTION_CLOSED")).toBe(true);
    expect(received.length).toBe(count);
    expect(received.every((m, i) => m.type === "welcome" && m.nodeId === i + 1)).toBe(true);
    await waitFor(
      () => server.closeReasons.length === 1,
      () => "the server side to close",
    );
    expect(server.closeReasons[0]).toBeNull();
  });

  test("close(error) sends the error frame after what was queued", async () => {
    const server = startServer({
      onMessage: (connection) => {
        connection.send({ type: "welcome", version: 1 });
        connection.close(new MqraftError("NOT_LEADER", "try node 2"));
      },
    });
    const { connection, received } = await client(server.listener.port);
    connection.send({ type: "hello", version: PROTOCOL_VERSION });
    await within(connection.closed, "the server's close");
    expect(received).toEqual([
      { type: "welcome", version: 1 },
      { type: "error", code: "NOT_LEADER", message: "try node 2" },
    ]);
  });

  test("connecting to a closed port rejects with UNAVAILABLE", async () => {
    const server = startServer();
    const port = server.listener.port;
    server.listener.stop();
    let error: unknown;
    try {
      await connect({ host: "127.0.0.1", port, parse: parseClientInbound });
    } catch (e) {
      error = e;
    }
    expect(isMqraftError(error, "UNAVAILABLE")).toBe(true);
    expect(String(error)).toContain(`127.0.0.1:${port}`);
    expect(String(error)).toContain("refused");
  });

  test("listening on a port in use throws UNAVAILABLE", () => {
    const server = startServer();
    expect(() =>
      listen({ host: "127.0.0.1", port: server.listener.port, parse: parseServerInbound, onConnection: () => {} }),
    ).toThrow(expect.objectContaining({ code: "UNAVAILABLE" }));
  });

  test("stopping a listener closes its connections", async () => {
    const server = startServer();
    const { connection } = await client(server.listener.port);
    await waitFor(
      () => server.connections.length === 1,
      () => "the server to accept",
    );
    server.listener.stop();
    const reason = await within(connection.closed, "the close");
    expect(isMqraftError(reason, "CONNECTION_CLOSED")).toBe(true);
  });
});
