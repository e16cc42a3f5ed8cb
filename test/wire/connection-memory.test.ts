import { afterEach, expect, test } from "bun:test";
import * as v from "valibot";
import { connect } from "../../src/wire/connect.ts";
import type { Connection } from "../../src/wire/connection.ts";
import { encodeFrame } from "../../src/wire/frame-encoder.ts";
import { FRAME_HEADER_BYTES } from "../../src/wire/frame-format.ts";
import { listen } from "../../src/wire/listen.ts";
import { createMessageParser } from "../../src/wire/messages/parse.ts";
import { rawConnect, waitFor } from "./helpers.ts";

// A message type of this test only: the connection is generic over what it carries.
const ChunkSchema = v.object({ type: v.literal("chunk"), seq: v.number(), data: v.instance(Uint8Array) });
type Chunk = v.InferOutput<typeof ChunkSchema>;
const parseChunk = createMessageParser(ChunkSchema);

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function startListener() {
  const accepted: Connection<Chunk, Chunk>[] = [];
  const listener = listen<Chunk, Chunk>({
    host: "127.0.0.1",
    port: 0,
    parse: parseChunk,
    onConnection: (connection) => accepted.push(connection),
  });
  cleanups.push(() => listener.stop());
  return { listener, accepted };
}

test("a listener sums what its open connections hold: bytes queued to a client that does not read, a frame half received", async () => {
  const { listener, accepted } = startListener();
  const reader = await connect<Chunk, Chunk>({ host: "127.0.0.1", port: listener.port, parse: parseChunk });
  cleanups.push(() => reader.close());
  const raw = await rawConnect(listener.port);
  cleanups.push(() => raw.socket.end());
  await waitFor(
    () => accepted.length === 2,
    () => `the listener to accept both, accepted ${accepted.length}`,
  );
  expect(listener.memoryUse()).toEqual({ connections: 2, queuedBytes: 0, receivingBytes: 0 });

  // the client stops reading: what the listener's side sends piles up past the socket's buffers
  reader.pause();
  const toReader = accepted[0] as Connection<Chunk, Chunk>;
  for (let seq = 0; seq < 200; seq++) toReader.send({ type: "chunk", seq, data: new Uint8Array(64 * 1024) });
  await waitFor(
    () => toReader.queuedBytes > 1 << 20,
    () => `more than 1 MiB queued to the paused client, ${toReader.queuedBytes} bytes`,
  );
  // a frame of which only the first 1,000 bytes arrived
  const frame = encodeFrame({ type: "chunk", seq: 1, data: new Uint8Array(10_000) });
  raw.socket.write(frame.subarray(0, 1000));
  raw.socket.flush();
  const partial = accepted.find((c) => c !== toReader) as Connection<Chunk, Chunk>;
  // the decoder has read the header and holds the body's first bytes
  const held = 1000 - FRAME_HEADER_BYTES;
  await waitFor(
    () => partial.memoryUse.receivingBytes === held,
    () => `${held} bytes of a frame held, ${partial.memoryUse.receivingBytes}`,
  );
  const use = listener.memoryUse();
  expect({ connections: use.connections, queued: use.queuedBytes, receiving: use.receivingBytes }).toEqual({
    connections: 2,
    queued: toReader.queuedBytes + partial.queuedBytes,
    receiving: held,
  });
  expect(toReader.memoryUse.queuedBytes).toBe(toReader.queuedBytes);

  // closed connections no longer count
  reader.close();
  raw.socket.end();
  await waitFor(
    () => listener.memoryUse().connections === 0,
    () => `no connection counted once both clients closed, ${listener.memoryUse().connections}`,
  );
});
