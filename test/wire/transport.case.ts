import { createServer, type Server, type Socket } from "node:net";
import { createPrng } from "../../src/util/prng.ts";
import { connect } from "../../src/wire/connect.ts";
import { FrameDecoder, NEED_MORE } from "../../src/wire/frame-decoder.ts";
import { encodeFrames } from "../../src/wire/frame-encoder.ts";
import { createMessageParser } from "../../src/wire/messages/parse.ts";
import { ClientInboundSchema, ServerInboundSchema } from "../../src/wire/messages/unions.ts";
import { outputBuffers } from "../../src/wire/outgoing-queue.ts";

/**
 * The framing and backpressure cases of the client transport, written once and run on both runtimes: under Bun by
 * transport.test.ts (Bun.connect), under Node by transport-node.test.ts (node:net), which bundles this file for Node.
 * The far end is a node:net server on both. Each case returns undefined or what went wrong.
 */

const parseClient = createMessageParser(ClientInboundSchema);
const parseServer = createMessageParser(ServerInboundSchema);

async function withServer(
  onSocket: (socket: Socket) => void,
  run: (port: number) => Promise<string | undefined>,
): Promise<string | undefined> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    return await run((server.address() as { port: number }).port);
  } finally {
    for (const socket of sockets) socket.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

function waitFor<T>(what: string, promise: Promise<T>, ms: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

const payload = (i: number): Uint8Array => Uint8Array.from({ length: (i * 37) % 700 }, (_, j) => (i + j) & 0xff);

/** 3,000 frames written in seeded pieces of 1 to 1,500 bytes, some in later turns: every one arrives, whole, in order. */
async function framesSplitAnywhere(): Promise<string | undefined> {
  const count = 3000;
  const messages = Array.from({ length: count }, (_, i) => ({
    type: "message",
    subscription: 1,
    topic: "t",
    offset: i,
    data: payload(i),
  }));
  const bytes = encodeFrames(messages);
  return withServer(
    (socket) => {
      const prng = createPrng(5);
      let at = 0;
      const step = (): void => {
        while (at < bytes.length) {
          const n = 1 + Math.floor(prng.next() * 1500);
          socket.write(bytes.subarray(at, at + n));
          at += n;
          if (prng.next() < 0.3) return void setTimeout(step, 0);
        }
      };
      step();
    },
    async (port) => {
      const connection = await connect({ host: "127.0.0.1", port, parse: parseClient });
      const received: { offset: number; data: Uint8Array }[] = [];
      const all = new Promise<void>((resolve) => {
        connection.onMessage = (m) => {
          if (m.type === "message") received.push(m);
          if (received.length === count) resolve();
        };
      });
      await waitFor(`${count} messages`, all, 20_000).catch(() => {});
      connection.close();
      if (received.length !== count) return `${received.length} of ${count} messages arrived`;
      for (let i = 0; i < count; i++) {
        const m = received[i]!;
        const want = payload(i);
        if (m.offset !== i || m.data.length !== want.length || m.data.some((b, j) => b !== want[j])) {
          return `message ${i} arrived as offset ${m.offset} with ${m.data.length} bytes`;
        }
      }
      return undefined;
    },
  );
}

/**
 * The reader's side of the publish cases: decodes what arrives on `socket`, records each publish's id, and says once
 * `count` have come (`all`); `onChunk` sees every chunk after it is decoded (to pause the socket now and then).
 */
function readPublishes(
  socket: Socket,
  count: number,
  onChunk: (chunk: Buffer) => void = () => {},
): { ids: number[]; all: Promise<void> } {
  const ids: number[] = [];
  const all = Promise.withResolvers<void>();
  const frames = new FrameDecoder();
  socket.on("data", (chunk: Buffer) => {
    frames.push(chunk);
    for (let value = frames.next(); value !== NEED_MORE; value = frames.next()) {
      const message = parseServer(value);
      if (message instanceof Error || message.type !== "publish") continue;
      ids.push(message.id);
      if (ids.length === count) all.resolve();
    }
    onChunk(chunk);
  });
  return { ids, all: all.promise };
}

/** What is wrong with the publish ids a reader got, when it should have got 0 to `count - 1` in order. */
function publishOrderProblem(ids: readonly number[], count: number): string | undefined {
  if (ids.length !== count) return `${ids.length} of ${count} publishes arrived`;
  const outOfOrder = ids.findIndex((id, i) => id !== i);
  return outOfOrder >= 0 ? `publish ${ids[outOfOrder]} arrived at position ${outOfOrder}` : undefined;
}

/**
 * 48 MB of publishes to a reader that pauses for a while every few megabytes: all arrive in order, the sender waits
 * on writable() instead of queueing, and its queue never goes over its bound.
 */
async function backpressure(): Promise<string | undefined> {
  const total = 48 * 1024 * 1024;
  const size = 64 * 1024;
  const count = total / size;
  const maxQueuedBytes = 4 * 1024 * 1024;
  let reader: ReturnType<typeof readPublishes> | undefined;
  return withServer(
    (socket) => {
      let sinceBreak = 0;
      reader = readPublishes(socket, count, (chunk) => {
        sinceBreak += chunk.length;
        if (sinceBreak > 6 * 1024 * 1024) {
          sinceBreak = 0;
          socket.pause();
          setTimeout(() => socket.resume(), 40);
        }
      });
    },
    async (port) => {
      const connection = await connect({
        host: "127.0.0.1",
        port,
        parse: parseClient,
        maxQueuedBytes,
      });
      const data = new Uint8Array(size).fill(7);
      let highest = 0;
      for (let id = 0; id < count; id++) {
        if (connection.queuedBytes > connection.lowWaterBytes) await connection.writable();
        if (!connection.send({ type: "publish", id, topic: "t", data })) return `send ${id} refused`;
        highest = Math.max(highest, connection.queuedBytes);
      }
      if (reader === undefined) return "the reader never connected";
      await waitFor("every publish at the reader", reader.all, 60_000).catch(() => {});
      connection.close();
      const problem = publishOrderProblem(reader.ids, count);
      if (problem !== undefined) return problem;
      if (highest > maxQueuedBytes) return `the queue reached ${highest} bytes, over its bound of ${maxQueuedBytes}`;
      return undefined;
    },
  );
}

/** A reader that never reads: the sender is cut off with SLOW_CONSUMER once its queue is full. */
async function stalledReader(): Promise<string | undefined> {
  return withServer(
    (socket) => socket.pause(),
    async (port) => {
      const maxQueuedBytes = 2 * 1024 * 1024;
      const connection = await connect({ host: "127.0.0.1", port, parse: parseClient, maxQueuedBytes });
      const data = new Uint8Array(64 * 1024);
      let sent = 0;
      // the kernel's buffers take some megabytes before the queue starts to fill
      for (let id = 0; id < 10_000 && connection.send({ type: "publish", id, topic: "t", data }); id++) {
        sent += data.length;
        if (id % 16 === 15) await new Promise((resolve) => setTimeout(resolve, 1));
      }
      const reason = await waitFor("the close", connection.closed, 10_000).catch((e: Error) => e);
      if (!(reason instanceof Error) || (reason as { code?: string }).code !== "SLOW_CONSUMER") {
        return `closed with ${String(reason)} after ${sent} bytes, expected SLOW_CONSUMER`;
      }
      return sent >= 10_000 * data.length ? "every send was taken by a reader that never reads" : undefined;
    },
  );
}

/**
 * Batches held back while the reader pauses are written at its drain and their buffers given back to the process's
 * pool of output buffers, which frees at once what it does not keep (small ones) and, once unused for a while, what it
 * kept (a batch grown past 1 MiB): everything arrives, and nothing throws, on Node too (Node 20's ArrayBuffer has no
 * `transfer`; a throw there came out of the socket's drain listener and killed the process).
 */
async function heldBackThenFreed(): Promise<string | undefined> {
  const small = 32 * 1024;
  const count = 400;
  const large = 2 * 1024 * 1024;
  let reader: ReturnType<typeof readPublishes> | undefined;
  return withServer(
    (socket) => {
      socket.pause();
      setTimeout(() => socket.resume(), 500);
      reader = readPublishes(socket, count + 1);
    },
    async (port) => {
      const connection = await connect({ host: "127.0.0.1", port, parse: parseClient });
      const data = new Uint8Array(small).fill(7);
      // one small batch a turn, so that the ones held back stay in their own small buffers
      for (let id = 0; id < count; id++) {
        if (connection.queuedBytes > connection.lowWaterBytes) await connection.writable();
        if (!connection.send({ type: "publish", id, topic: "t", data })) return `send ${id} refused`;
        await new Promise((resolve) => setTimeout(resolve, 0));
      }
      if (!connection.send({ type: "publish", id: count, topic: "t", data: new Uint8Array(large) }))
        return "the large send was refused";
      if (reader === undefined) return "the reader never connected";
      await waitFor("every publish at the reader", reader.all, 20_000).catch(() => {});
      const emptied = new Promise<void>((resolve) => {
        const look = (): void => void (outputBuffers.use.buffers === 0 ? resolve() : setTimeout(look, 20));
        look();
      });
      const kept = await waitFor("the pool to let its buffers go", emptied, 10_000).then(
        () => undefined,
        () => `the pool still keeps ${outputBuffers.use.buffers} buffers`,
      );
      connection.close();
      return publishOrderProblem(reader.ids, count + 1) ?? kept;
    },
  );
}

export const TRANSPORT_CASES: Record<string, () => Promise<string | undefined>> = {
  "frames split anywhere arrive whole and in order": framesSplitAnywhere,
  "a reader that pauses gets everything in order, and the sender's queue stays within its bound": backpressure,
  "a reader that never reads cuts the sender off with SLOW_CONSUMER": stalledReader,
  "batches held back by a pause are written at the drain, and the output buffers the pool lets go are freed":
    heldBackThenFreed,
};
