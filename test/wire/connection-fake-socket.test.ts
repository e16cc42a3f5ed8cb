import { afterEach, describe, expect, test } from "bun:test";
import type { Socket } from "bun";
import { isMqraftError, MqraftError } from "../../src/util/errors.ts";
import { Connection, type SocketSlot } from "../../src/wire/connection.ts";
import { FrameDecoder, NEED_MORE } from "../../src/wire/frame-decoder.ts";
import { encodeFrame } from "../../src/wire/frame-encoder.ts";
import { parseMessage } from "../../src/wire/messages/parse.ts";
import type { Message } from "../../src/wire/messages/unions.ts";
import { within } from "./helpers.ts";

/**
 * Stands in for a Bun socket, so a test decides how many bytes each write takes and when drain and close happen.
 * Like Bun, it keeps nothing of a write beyond the bytes it took.
 */
class FakeSocket {
  readonly remoteAddress = "10.0.0.1";
  readonly remotePort = 9;
  writes: number[] = [];
  taken: number[] = [];
  budget = Infinity;
  paused = false;
  shutDown = false;
  terminated = false;
  connection!: Connection<Message, Message>;

  write(bytes: Uint8Array): number {
    if (this.shutDown || this.terminated) return -1;
    const n = Math.min(bytes.length, this.budget);
    this.writes.push(bytes.length);
    for (let i = 0; i < n; i++) this.taken.push(bytes[i]!);
    return n;
  }
  pause(): void {
    this.paused = true;
  }
  resume(): void {
    this.paused = false;
  }
  shutdown(): void {
    this.shutDown = true;
  }
  terminate(): void {
    this.terminated = true;
    this.connection.handleClose(undefined);
  }

  /** Frees the write budget and reports drain, as Bun does once the kernel takes more. */
  drain(budget = Infinity): void {
    this.budget = budget;
    this.connection.handleDrain();
  }

  values(): unknown[] {
    const decoder = new FrameDecoder();
    decoder.push(new Uint8Array(this.taken));
    const values: unknown[] = [];
    for (let value = decoder.next(); value !== NEED_MORE; value = decoder.next()) values.push(value);
    return values;
  }
}

const created: Connection<Message, Message>[] = [];
// a closing connection holds a linger timer until its socket reports the close
afterEach(() => {
  for (const connection of created.splice(0)) connection.handleClose(undefined);
});

function fakeConnection(options: { maxQueuedBytes?: number; maxFrameBytes?: number; closeTimeoutMs?: number } = {}) {
  const socket = new FakeSocket();
  const connection = new Connection<Message, Message>(socket as unknown as Socket<SocketSlot>, {
    parse: parseMessage,
    ...options,
  });
  socket.connection = connection;
  created.push(connection);
  const received: Message[] = [];
  connection.onMessage = (message) => received.push(message);
  return { socket, connection, received };
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("Connection write path", () => {
  test("everything sent in one turn goes out in one write, after the turn", async () => {
    const { socket, connection } = fakeConnection();
    for (let i = 1; i <= 100; i++) connection.send({ type: "welcome", version: 1, nodeId: i });
    expect(socket.writes).toEqual([]);
    await turn();
    expect(socket.writes).toHaveLength(1);
    expect(socket.values()).toHaveLength(100);
    connection.send({ type: "welcome", version: 1 });
    await turn();
    expect(socket.writes).toHaveLength(2);
  });

  test("a partial write keeps the rest, waits for drain, and loses nothing", async () => {
    const { socket, connection } = fakeConnection();
    socket.budget = 7;
    connection.send({ type: "error", code: "TIMEOUT", message: "x".repeat(100) });
    await turn();
    expect(connection.queuedBytes).toBeGreaterThan(0);
    connection.send({ type: "welcome", version: 1 });
    await turn();
    // blocked: no write until drain
    expect(socket.writes).toHaveLength(1);
    socket.drain(13);
    socket.drain(13);
    socket.drain();
    expect(connection.queuedBytes).toBe(0);
    expect(socket.values()).toEqual([
      { type: "error", code: "TIMEOUT", message: "x".repeat(100) },
      { type: "welcome", version: 1 },
    ]);
  });

  test("writable() resolves once the queue drains below the low-water mark", async () => {
    const { socket, connection } = fakeConnection({ maxQueuedBytes: 1 << 20 });
    socket.budget = 0;
    for (let i = 0; i < 100; i++) connection.send({ type: "error", code: "TIMEOUT", message: "y".repeat(10_000) });
    await turn();
    let resolved = false;
    const writable = connection.writable().then(() => (resolved = true));
    socket.drain(0);
    await turn();
    expect(resolved).toBe(false);
    socket.drain();
    await within(writable, "writable()");
    expect(connection.queuedBytes).toBeLessThanOrEqual(connection.lowWaterBytes);
  });

  test("going over maxQueuedBytes mid-frame cuts the connection with SLOW_CONSUMER", async () => {
    const { socket, connection } = fakeConnection({ maxQueuedBytes: 50_000 });
    socket.budget = 1_000;
    let sends = 0;
    while (connection.send({ type: "error", code: "TIMEOUT", message: "z".repeat(1_000) })) {
      sends++;
      await turn();
    }
    expect(sends).toBeGreaterThan(10);
    expect(socket.terminated).toBe(true);
    expect(isMqraftError(await connection.closed, "SLOW_CONSUMER")).toBe(true);
    expect(connection.queuedBytes).toBe(0);
  });

  test("going over maxQueuedBytes on a clean stream sends SLOW_CONSUMER as an error frame", async () => {
    const { socket, connection } = fakeConnection({ maxQueuedBytes: 5_000 });
    for (let i = 0; i < 4; i++)
      expect(connection.send({ type: "error", code: "TIMEOUT", message: "w".repeat(1_000) })).toBe(true);
    expect(connection.send({ type: "error", code: "TIMEOUT", message: "w".repeat(1_000) })).toBe(false);
    expect(socket.values()).toEqual([
      { type: "error", code: "SLOW_CONSUMER", message: expect.stringContaining("10.0.0.1:9") },
    ]);
    expect(socket.shutDown).toBe(true);
  });

  test("a frame over the limit throws to the sender and leaves the connection open", () => {
    const { connection } = fakeConnection({ maxFrameBytes: 100 });
    expect(() => connection.send({ type: "error", code: "TIMEOUT", message: "v".repeat(200) })).toThrow(
      expect.objectContaining({ code: "FRAME_TOO_LARGE" }),
    );
    expect(connection.isOpen).toBe(true);
  });
});

describe("Connection close", () => {
  test("close() waits for queued bytes to drain, then shuts down the write side", async () => {
    const { socket, connection } = fakeConnection();
    socket.budget = 5;
    connection.send({ type: "welcome", version: 1 });
    connection.close(new MqraftError("NOT_LEADER", "elsewhere"));
    expect(socket.shutDown).toBe(false);
    expect(connection.send({ type: "welcome", version: 1 })).toBe(false);
    socket.drain();
    expect(socket.shutDown).toBe(true);
    expect(socket.values()).toEqual([
      { type: "welcome", version: 1 },
      { type: "error", code: "NOT_LEADER", message: "elsewhere" },
    ]);
    connection.handleClose(undefined);
    expect(isMqraftError(await connection.closed, "NOT_LEADER")).toBe(true);
  });

  test("a peer that never takes the bytes is cut off after closeTimeoutMs", async () => {
    const { socket, connection } = fakeConnection({ closeTimeoutMs: 20 });
    socket.budget = 0;
    connection.send({ type: "welcome", version: 1 });
    connection.close();
    const reason = await within(connection.closed, "the linger timeout", 2_000);
    expect(socket.terminated).toBe(true);
    expect(reason).toBeNull();
  });

  test("a peer closing first gives CONNECTION_CLOSED; onClose runs once", async () => {
    const { connection } = fakeConnection();
    const reasons: unknown[] = [];
    connection.onClose = (reason) => reasons.push(reason);
    connection.handleClose(new Error("ECONNRESET"));
    connection.handleClose(undefined);
    expect(reasons).toHaveLength(1);
    expect(isMqraftError(reasons[0], "CONNECTION_CLOSED")).toBe(true);
    expect(String((reasons[0] as Error).message)).toContain("ECONNRESET");
  });
});

describe("Connection read path", () => {
  test("messages split across chunks arrive in order; pause holds them until resume", () => {
    const { socket, connection, received } = fakeConnection();
    const frames = new Uint8Array([
      ...encodeFrame({ type: "hello", version: 1 }),
      ...encodeFrame({ type: "welcome", version: 1 }),
      ...encodeFrame({ type: "hello", version: 1, id: 2 }),
    ]);
    connection.onMessage = (message) => {
      received.push(message);
      if (received.length === 1) connection.pause();
    };
    for (let i = 0; i < frames.length; i += 3) connection.handleData(frames.subarray(i, i + 3));
    expect(received).toHaveLength(1);
    expect(socket.paused).toBe(true);
    connection.resume();
    expect(socket.paused).toBe(false);
    expect(received).toEqual([
      { type: "hello", version: 1 },
      { type: "welcome", version: 1 },
      { type: "hello", version: 1, id: 2 },
    ]);
  });

  test("input after a bad frame is ignored", () => {
    const { socket, connection, received } = fakeConnection();
    connection.handleData(new Uint8Array([0, 0, 0, 1, 0xff]));
    connection.handleData(encodeFrame({ type: "hello", version: 1 }));
    expect(received).toEqual([]);
    expect(socket.values()).toEqual([{ type: "error", code: "BAD_FRAME", message: expect.any(String) }]);
    expect(socket.shutDown).toBe(true);
  });
});
