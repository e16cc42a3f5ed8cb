/**
 * Messages per second through the hand-written codecs of the hot messages (src/wire/hot-encoders.ts and
 * hot-decoders.ts), in one process, without sockets: what a broker spends per publish on encoding and decoding. Not a
 * test: run
 *   CBOR_NATIVE_ACCELERATION_DISABLED=true bun bench/hot-codec-bench.ts [seconds per case]
 */
import { CborWriter } from "../src/util/cbor-writer.ts";
import { readHot } from "../src/wire/hot-decoders.ts";
import { encodeHot } from "../src/wire/hot-encoders.ts";

const seconds = Number(process.argv[2] ?? 1);
const payload = new Uint8Array(128).fill(7);

const cases: Record<string, unknown> = {
  publish: {
    type: "publish",
    id: 123_456,
    topic: "orders.eu",
    data: payload,
    producer: "3f2a9c1d0b8e7f6a",
    seq: 98_765,
  },
  published: { type: "published", id: 123_456, topic: "orders.eu", offset: 4_000_000 },
  message: { type: "message", subscription: 3, topic: "orders.eu", offset: 4_000_000, data: payload },
  append: {
    type: "append",
    from: 1,
    to: 2,
    term: 7,
    index: 1_000_000,
    logTerm: 7,
    commit: 999_990,
    entries: Array.from({ length: 16 }, (_, i) => ({ index: 1_000_001 + i, term: 7, kind: 0, data: payload })),
  },
};

function rate(run: () => void): number {
  const until = performance.now() + seconds * 1000;
  let n = 0;
  while (performance.now() < until) {
    for (let i = 0; i < 1000; i++) run();
    n += 1000;
  }
  return n / seconds;
}

const w = new CborWriter();
console.log(`hot codecs: ${seconds} s per case, 128-byte payloads (append: 16 entries)`);
for (const [type, message] of Object.entries(cases)) {
  const encodes = rate(() => {
    w.at = 0;
    if (!encodeHot(w, message)) throw new Error(`${type} was not hot-encoded`);
  });
  w.at = 0;
  encodeHot(w, message);
  const bytes = w.buffer.slice(0, w.at);
  const decodes =
    type === "append"
      ? Number.NaN
      : rate(() => {
          if (readHot(bytes) === undefined) throw new Error(`${type} was not hot-decoded`);
        });
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  console.log(`${type.padEnd(10)} encode ${fmt(encodes).padStart(11)}/s   decode ${fmt(decodes).padStart(11)}/s`);
}
