/**
 * Framed messages per second between two Bun processes on loopback, through src/wire (encode, frame, socket,
 * decode, valibot check), with writes batched per event-loop turn and with one write per frame. Not a test: run
 *   CBOR_NATIVE_ACCELERATION_DISABLED=true bun bench/wire-bench.ts [seconds per mode] [payload bytes]
 * These figures are the ceiling for the broker's own throughput.
 */
import { join } from "node:path";
import * as v from "valibot";
import { encodeValue } from "../src/wire/cbor.ts";
import { FRAME_HEADER_BYTES } from "../src/wire/frame-format.ts";
import { listen } from "../src/wire/listen.ts";
import { createMessageParser } from "../src/wire/messages/parse.ts";

const seconds = Number(process.argv[2] ?? 3);
const payloadBytes = Number(process.argv[3] ?? 128);

const DataSchema = v.object({ type: v.literal("data"), seq: v.number(), data: v.instance(Uint8Array) });
const parseData = createMessageParser(DataSchema);
const frameBytes =
  FRAME_HEADER_BYTES + encodeValue({ type: "data", seq: 1_000_000, data: new Uint8Array(payloadBytes) }).length;

interface Result {
  frames: number;
  elapsedMs: number;
  /** busy share of one core over the run, receiver and sender */
  receiverCpu: number;
  senderCpu: number;
}

async function run(mode: "batched" | "per-frame"): Promise<Result> {
  let frames = 0;
  let first = 0;
  let last = 0;
  let outOfOrder = 0;
  let cpuAtFirst = process.cpuUsage();
  let cpuAtLast = cpuAtFirst;
  const done = Promise.withResolvers<void>();
  const listener = listen({
    host: "127.0.0.1",
    port: 0,
    parse: parseData,
    onConnection(connection) {
      connection.onMessage = (message) => {
        if (message.seq !== frames) outOfOrder++;
        frames++;
        last = performance.now();
        if (frames === 1) {
          first = last;
          cpuAtFirst = process.cpuUsage();
        }
      };
      connection.onClose = () => {
        cpuAtLast = process.cpuUsage(cpuAtFirst);
        done.resolve();
      };
    },
  });
  const peer = Bun.spawn(
    [
      process.execPath,
      join(import.meta.dir, "wire-bench-peer.ts"),
      String(listener.port),
      mode,
      String(seconds),
      String(payloadBytes),
    ],
    { env: { ...process.env, CBOR_NATIVE_ACCELERATION_DISABLED: "true" }, stdout: "pipe", stderr: "inherit" },
  );
  let senderCpu: number;
  try {
    const output = new Response(peer.stdout).text();
    await done.promise;
    const exitCode = await peer.exited;
    if (exitCode !== 0) throw new Error(`sender exited with ${exitCode}`);
    senderCpu = (JSON.parse(await output) as { cpu: number }).cpu;
  } finally {
    peer.kill();
    listener.stop();
  }
  if (outOfOrder > 0) throw new Error(`${outOfOrder} frames arrived out of order`);
  const elapsedMs = last - first;
  return { frames, elapsedMs, receiverCpu: (cpuAtLast.user + cpuAtLast.system) / 1000 / elapsedMs, senderCpu };
}

function report(label: string, { frames, elapsedMs, receiverCpu, senderCpu }: Result): number {
  const perSecond = (frames * 1000) / elapsedMs;
  const mbPerSecond = (perSecond * frameBytes) / 1e6;
  const percent = (share: number) => `${Math.round(share * 100)}%`;
  console.log(
    `${label.padEnd(20)} ${Math.round(perSecond).toLocaleString("en-US").padStart(11)} frames/s` +
      `  ${mbPerSecond.toFixed(1).padStart(6)} MB/s` +
      `  cpu: receiver ${percent(receiverCpu)}, sender ${percent(senderCpu)}` +
      `  (${frames.toLocaleString("en-US")} frames in ${(elapsedMs / 1000).toFixed(2)} s)`,
  );
  return perSecond;
}

console.log(
  `wire bench: ${payloadBytes}-byte payloads in ${frameBytes}-byte frames, ${seconds} s per mode, two processes on loopback`,
);
const batched = report("batched per turn", await run("batched"));
const perFrame = report("one write per frame", await run("per-frame"));
console.log(`batching per turn: ${(batched / perFrame).toFixed(1)}x`);
