import { afterEach, describe, expect, test } from "bun:test";
import * as v from "valibot";
import { isMqraftError } from "../../src/util/errors.ts";
import { connect } from "../../src/wire/connect.ts";
import type { Connection } from "../../src/wire/connection.ts";
import { type Listener, listen } from "../../src/wire/listen.ts";
import { createMessageParser } from "../../src/wire/messages/parse.ts";
import { waitFor, within } from "./helpers.ts";

// A message type of this test only: the connection is generic over what it carries.
const ChunkSchema = v.object({ type: v.literal("chunk"), seq: v.number(), data: v.instance(Uint8Array) });
type Chunk = v.InferOutput<typeof ChunkSchema>;
const parseChunk = createMessageParser(ChunkSchema);

const CHUNK_BYTES = 64 * 1024;

function fill(seq: number): Uint8Array<ArrayBuffer> {
  const data = new Uint8Array(CHUNK_BYTES);
  for (let j = 0; j < CHUNK_BYTES; j++) data[j] = (seq * 31 + j) & 255;
  return data;
}

function intact(chunk: Chunk): boolean {
  const data = chunk.data;
  if (data.length !== CHUNK_BYTES) return false;
  for (let j = 0; j < CHUNK_BYTES; j++) if (data[j] !== ((chunk.seq * 31 + j) & 255)) return false;
  return true;
}

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

/** A listener that keeps what it accepts, and a client connected to it (the writer) with its accepted side (the reader). */
async function pair(options: { maxQueuedBytes: number; lowWaterBytes?: number }): Promise<{
  reader: Connection<Chunk, Chunk>;
  writer: Connection<Chunk, Chunk>;
  listener: Listener;
  accepted: Connection<Chunk, Chunk>[];
}> {
  const accepted: Connection<Chunk, Chunk>[] = [];
  const listener = listen<Chunk, Chunk>({
    host: "127.0.0.1",
    port: 0,
    parse: parseChunk,
    onConnection: (connection) => accepted.push(connection),
  });
  cleanups.push(() => listener.stop());
  const writer = await connect<Chunk, Chunk>({ host: "127.0.0.1", port: listener.port, parse: parseChunk, ...options });
  cleanups.push(() => writer.close());
  await waitFor(
    () => accepted.length === 1,
    () => "the listener to accept",
  );
  return { reader: accepted[0]!, writer, listener, accepted };
}

describe("Connection backpressure", () => {
  test("100 MB reach a reader that pauses and resumes, in order, with the sender's queue under its bound", async () => {
    const maxQueuedBytes = 8 * 1024 * 1024;
    const highWater = 4 * 1024 * 1024;
    const { reader, writer } = await pair({ maxQueuedBytes, lowWaterBytes: 1024 * 1024 });
    const total = Math.ceil((100 * 1000 * 1000) / CHUNK_BYTES);
    const pauses = 5;

    let expected = 0;
    let failure: string | undefined;
    let writerWaiting = false;
    let pausesDone = 0;
    reader.onMessage = (chunk) => {
      if (chunk.seq !== expected || !intact(chunk))
        failure ??= `chunk ${expected}: got seq ${chunk.seq}, intact ${intact(chunk)}`;
      expected++;
      // pause a few times along the way, until the writer is seen blocked on the full queue
      if (pausesDone < pauses && expected === Math.floor(((pausesDone + 1) * total) / (pauses + 1))) {
        pausesDone++;
        reader.pause();
        void waitFor(
          () => writerWaiting,
          () => "the writer to block while the reader is paused",
        ).then(
          () => reader.resume(),
          (e: Error) => (failure ??= e.message),
        );
      }
    };

    let maxSeen = 0;
    let blocks = 0;
    for (let seq = 0; seq < total; seq++) {
      if (writer.queuedBytes > highWater) {
        writerWaiting = true;
        if (!reader.isOpen) break;
        blocks++;
        await within(writer.writable(), "the queue to drain");
        writerWaiting = false;
      }
      if (!writer.send({ type: "chunk", seq, data: fill(seq) })) throw new Error(`send ${seq} refused`);
      maxSeen = Math.max(maxSeen, writer.queuedBytes);
    }
    await waitFor(
      () => expected === total || failure !== undefined,
      () => `${total} chunks, got ${expected}`,
      30_000,
    );

    expect(failure).toBeUndefined();
    expect(expected).toBe(total);
    expect(pausesDone).toBe(pauses);
    expect(blocks).toBeGreaterThanOrEqual(pauses);
    expect(maxSeen).toBeLessThanOrEqual(highWater + CHUNK_BYTES + 64);
    expect(maxSeen).toBeLessThan(maxQueuedBytes);
    expect(writer.isOpen).toBe(true);
  });

  test("a peer that stops reading is cut off with SLOW_CONSUMER; memory stays bounded and others go on", async () => {
    const maxQueuedBytes = 2 * 1024 * 1024;
    const { reader, writer, listener, accepted } = await pair({ maxQueuedBytes });
    reader.pause();
    let sent = 0;
    let maxSeen = 0;
    while (writer.send({ type: "chunk", seq: sent, data: fill(sent) })) {
      sent++;
      maxSeen = Math.max(maxSeen, writer.queuedBytes);
      // yield so that the batches are written and the socket reports it is full
      if (sent % 16 === 0) await new Promise((resolve) => setImmediate(resolve));
      if (sent > 10_000) throw new Error("the writer was never cut off");
    }
    const reason = await within(writer.closed, "the writer's close");
    expect(isMqraftError(reason, "SLOW_CONSUMER")).toBe(true);
    expect(maxSeen).toBeLessThanOrEqual(maxQueuedBytes);
    expect(writer.queuedBytes).toBe(0);
    expect(writer.send({ type: "chunk", seq: sent, data: fill(0) })).toBe(false);
    let rejection: unknown;
    await writer.writable().catch((e: unknown) => (rejection = e));
    expect(isMqraftError(rejection, "SLOW_CONSUMER")).toBe(true);

    reader.resume();
    await within(reader.closed, "the reader's side to close");

    // the listener still serves a new connection
    const fresh = await connect<Chunk, Chunk>({ host: "127.0.0.1", port: listener.port, parse: parseChunk });
    cleanups.push(() => fresh.close());
    await waitFor(
      () => accepted.length === 2,
      () => "the listener to accept again",
    );
    const got: Chunk[] = [];
    accepted[1]!.onMessage = (chunk) => got.push(chunk);
    fresh.send({ type: "chunk", seq: 7, data: fill(7) });
    await waitFor(
      () => got.length === 1,
      () => "a chunk over the new connection",
    );
    expect(intact(got[0]!)).toBe(true);
  });
});
