/**
 * CPU of a consumer group member's own path, in process, no broker: `group-run` frames as a leader writes them →
 * FrameDecoder → the client's parser → GroupHand (hold, take in batches, ack) → the settle requests it would send,
 * answered at once. Issue 16's figure counts what the group path costs beyond plain publish; this is the client's
 * part of it, without the noise of a cluster. The first round is what a fresh process pays (the JIT warming up, as
 * in a 100k-message `bench e2e --group`); the later ones what it pays warm.
 *   bun bench/group-member-path.ts [rounds=10] [msgs=100000] [run=800] [size=128]
 * Measured with it (first round, median of 8 fresh processes): payloads copied one `slice` each 76 ms; one copy of
 * the run's bytes with a view per message 78 ms (no gain, and a kept message would pin its whole run); views into
 * the frame, no copy, 67 ms (a kept message would pin the receive chunk, up to 512 KiB: not taken).
 */
import { GroupHand } from "../src/client/group-hand.ts";
import { CborWriter } from "../src/util/cbor-writer.ts";
import { FrameDecoder, NEED_MORE } from "../src/wire/frame-decoder.ts";
import { GroupRunPush } from "../src/wire/group-run-push.ts";
import { encodeHot } from "../src/wire/hot-encoders.ts";
import type { GroupRun } from "../src/wire/index.ts";
import { createMessageParser } from "../src/wire/messages/parse.ts";
import { ClientInboundSchema } from "../src/wire/messages/unions.ts";

const [rounds = 10, msgs = 100_000, run = 800, size = 128] = process.argv.slice(2).map(Number);
const parse = createMessageParser(ClientInboundSchema);

/** The frames of `msgs` messages from `first` on, in runs of `run`, as the leader writes them. */
function frames(first: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let offset = first; offset < first + msgs; offset += run) {
    const push = new GroupRunPush(1, "benchtopic", offset, 1);
    for (let i = 0; i < Math.min(run, first + msgs - offset); i++)
      push.add(new Uint8Array(size).fill(i), Date.now(), undefined);
    const w = new CborWriter();
    w.raw(new Uint8Array(4));
    if (!encodeHot(w, push)) throw new Error("a run push is a hot message");
    const frame = w.buffer.slice(0, w.at);
    new DataView(frame.buffer).setUint32(0, w.at - 4);
    out.push(frame);
  }
  return out;
}

/** CPU ms of one round: every message held, taken and acked (one request per batch, as a member that acks batches). */
async function round(first: number): Promise<number> {
  const input = frames(first);
  let settled = 0;
  const hand = new GroupHand(async (_kind, messages) => {
    settled += messages.length;
    return [];
  });
  const decoder = new FrameDecoder();
  const acks: Promise<void>[] = [];
  const start = process.cpuUsage();
  for (const frame of input) {
    decoder.push(frame);
    for (let value = decoder.next(); value !== NEED_MORE; value = decoder.next()) {
      const push = (
        decoder.hot && parse.hot !== undefined ? parse.hot(value as { type: string }) : parse(value)
      ) as GroupRun;
      hand.hold(push);
    }
    while (hand.waiting > 0) acks.push(hand.settleMany("ack", hand.take(1000)));
    // the settles go out at the end of the turn, as on a connection
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(acks);
  const used = process.cpuUsage(start);
  if (settled !== msgs || hand.holding !== 0) throw new Error(`settled ${settled} of ${msgs}, ${hand.holding} held`);
  return (used.user + used.system) / 1000;
}

const times: number[] = [];
for (let r = 0; r < rounds; r++) times.push(await round(r * msgs));
const warm = times.slice(1).sort((a, b) => a - b);
console.log(
  `${msgs} messages of ${size} B in runs of ${run}: first round ${times[0]?.toFixed(0)} ms CPU, warm median ${warm[Math.floor(warm.length / 2)]?.toFixed(1) ?? "-"} ms (rounds: ${times.map((t) => t.toFixed(0)).join(" ")})`,
);
