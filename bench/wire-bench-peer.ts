/**
 * The sending half of bench/wire-bench.ts, run as its own process:
 *   bun bench/wire-bench-peer.ts <port> <batched|per-frame> <seconds> <payload bytes>
 * Streams `{type: "data", seq, data}` frames to 127.0.0.1:<port> for <seconds>, then closes, and prints one JSON
 * line with its busy share of one core: {"cpu": 0.97}.
 * "batched": many sends per event-loop turn, written together at the end of the turn (the Connection's default).
 * "per-frame": flush() after every send, so each frame is its own socket write.
 */
import { connect } from "../src/wire/connect.ts";
import { parseMessage } from "../src/wire/messages/parse.ts";

const [portArg, mode, secondsArg, payloadArg] = process.argv.slice(2);
if (mode !== "batched" && mode !== "per-frame") throw new Error(`mode must be batched or per-frame, got ${mode}`);
const port = Number(portArg);
const seconds = Number(secondsArg);
const payload = new Uint8Array(Number(payloadArg)).fill(0x5a);
// frames per event-loop turn: the broker's fan-out also sends a burst per turn
const framesPerTurn = 1_000;
const highWaterBytes = 4 * 1024 * 1024;

const connection = await connect({ host: "127.0.0.1", port, parse: parseMessage });
const perFrame = mode === "per-frame";
const started = performance.now();
const cpuBefore = process.cpuUsage();
const deadline = started + seconds * 1000;
let seq = 0;
while (performance.now() < deadline && connection.isOpen) {
  for (let i = 0; i < framesPerTurn; i++) {
    connection.send({ type: "data", seq: seq++, data: payload });
    if (perFrame) connection.flush();
  }
  if (connection.queuedBytes > highWaterBytes) await connection.writable();
  else await new Promise((resolve) => setImmediate(resolve));
}
const cpu = process.cpuUsage(cpuBefore);
const wallMs = performance.now() - started;
connection.close();
await connection.closed;
console.log(JSON.stringify({ cpu: (cpu.user + cpu.system) / 1000 / wallMs }));
