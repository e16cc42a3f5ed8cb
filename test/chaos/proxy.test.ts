import { afterEach, expect, test } from "bun:test";
import { createConnection, createServer, type Server, type Socket } from "node:net";
import { encodeValue } from "../../src/wire/cbor.ts";
import { waitFor } from "../support/wait.ts";
import { TcpProxy } from "./proxy.ts";

/** A whole mqraft frame holding a hello from broker `id`, or from a client. */
function helloFrame(from: number | "client"): Buffer {
  const body = encodeValue({
    type: "hello",
    version: 1,
    ...(from === "client" ? { role: "client" } : { role: "peer", id: from }),
  });
  const frame = Buffer.alloc(4 + body.length);
  frame.writeUInt32BE(body.length, 0);
  frame.set(body, 4);
  return frame;
}

interface End {
  socket: Socket;
  received: () => string;
  closed: () => boolean;
}

function track(socket: Socket): End {
  let text = "";
  let closed = false;
  socket.on("data", (chunk: Buffer) => (text += chunk.toString()));
  socket.on("error", () => undefined);
  socket.on("close", () => (closed = true));
  return { socket, received: () => text, closed: () => closed };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** An echo-less target that records what each accepted connection receives, and a proxy in front of it. */
async function setup(): Promise<{ proxy: TcpProxy; dial: () => Promise<{ client: End; server: End }> }> {
  const accepted: End[] = [];
  const server: Server = createServer((s) => accepted.push(track(s)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const port = (server.address() as import("node:net").AddressInfo).port;
  const proxy = await TcpProxy.start({ host: "127.0.0.1", port });
  cleanups.push(() => proxy.close());
  const dial = async () => {
    const before = accepted.length;
    const socket = createConnection({ host: "127.0.0.1", port: proxy.port });
    cleanups.push(() => void socket.destroy());
    const client = track(socket);
    const serverEnd = await waitFor("the proxied connection to reach the target", () => accepted[before]);
    return { client, server: serverEnd };
  };
  return { proxy, dial };
}

test("pass carries bytes both ways", async () => {
  const { dial } = await setup();
  const { client, server } = await dial();
  client.socket.write("ping");
  server.socket.write("pong");
  await waitFor("ping at the target", () => (server.received() === "ping" ? true : undefined));
  await waitFor("pong at the client", () => (client.received() === "pong" ? true : undefined));
});

test("a one-way blackhole drops one direction and keeps the socket; healing closes the broken stream", async () => {
  const { proxy, dial } = await setup();
  const { client, server } = await dial();
  proxy.set({ kind: "blackhole" }, "forward");
  client.socket.write("lost");
  server.socket.write("still-flows");
  await waitFor("the backward direction to flow", () => (client.received() === "still-flows" ? true : undefined));
  // The backward bytes went through after the forward write, so the forward ones had their chance to arrive.
  server.socket.write("!");
  await waitFor("a second backward chunk", () => (client.received() === "still-flows!" ? true : undefined));
  expect(server.received()).toBe("");
  expect(client.closed()).toBe(false);
  proxy.set({ kind: "pass" });
  await waitFor("the stream that lost bytes to close", () => (client.closed() && server.closed() ? true : undefined));
  const fresh = await dial();
  fresh.client.socket.write("again");
  await waitFor("a new connection to carry bytes", () => (fresh.server.received() === "again" ? true : undefined));
});

test("reset closes open connections and refuses new ones until passed again", async () => {
  const { proxy, dial } = await setup();
  const { client } = await dial();
  proxy.set({ kind: "reset" });
  await waitFor("the open connection to close", () => (client.closed() ? true : undefined));
  const refused = track(createConnection({ host: "127.0.0.1", port: proxy.port }));
  await waitFor("a new connection to be reset", () => (refused.closed() ? true : undefined));
  expect(proxy.connections).toBe(0);
  proxy.set({ kind: "pass" });
  const { client: again, server } = await dial();
  again.socket.write("back");
  await waitFor("bytes after reset", () => (server.received() === "back" ? true : undefined));
});

test("delay holds each direction's bytes for the given time, in order", async () => {
  const { proxy, dial } = await setup();
  const { client, server } = await dial();
  proxy.set({ kind: "delay", ms: 300 }, "forward");
  const sent = performance.now();
  for (const chunk of ["a", "b", "c"]) client.socket.write(chunk);
  server.socket.write("quick");
  await waitFor("the undelayed direction", () => (client.received() === "quick" ? true : undefined));
  expect(server.received()).toBe("");
  await waitFor("all three chunks", () => (server.received() === "abc" ? true : undefined));
  expect(performance.now() - sent).toBeGreaterThanOrEqual(290);
});

test("a mode set for one broker's connections leaves other brokers and clients alone, told apart by their hello", async () => {
  const { proxy, dial } = await setup();
  proxy.set({ kind: "blackhole" }, undefined, 2);
  const cut = await dial();
  const other = await dial();
  const client = await dial();
  cut.client.socket.write(helloFrame(2));
  other.client.socket.write(helloFrame(3));
  client.client.socket.write(helloFrame("client"));
  await waitFor("broker 3's hello at the target", () => (other.server.received().length > 0 ? true : undefined));
  await waitFor("the client's hello at the target", () => (client.server.received().length > 0 ? true : undefined));
  for (const end of [cut, other, client]) end.server.socket.write("welcome");
  await waitFor("the answer to broker 3", () => (other.client.received() === "welcome" ? true : undefined));
  await waitFor("the answer to the client", () => (client.client.received() === "welcome" ? true : undefined));
  // The others' bytes went both ways through the same proxy, after broker 2's hello was written.
  client.client.socket.write("more");
  await waitFor("more client bytes", () => (client.server.received().endsWith("more") ? true : undefined));
  expect(cut.server.received()).toBe("");
  expect(cut.client.received()).toBe("");
  expect(proxy.mode("forward", 2)).toEqual({ kind: "blackhole" });
  expect(proxy.mode("forward", 3)).toEqual({ kind: "pass" });
  proxy.set({ kind: "pass" });
  expect(proxy.mode("forward", 2)).toEqual({ kind: "pass" });
});
