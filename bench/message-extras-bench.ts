/**
 * What Unicode topic names, headers and TTLs cost the publish path (issue 16), in one process (a loaded machine
 * cannot resolve 5 % between two clusters; in-process pairs alternate, best of several rounds):
 * 1. the name functions of a publish (client check, encode, broker decode), ASCII names, old and new rule;
 * 2. the state machine applying publish entries of 100 messages of 128 B: plain, with two headers, with a TTL.
 * Run: CBOR_NATIVE_ACCELERATION_DISABLED=true node_modules/.bin/bun bench/message-extras-bench.ts
 */
import { encodeCommand } from "../src/broker/command-codec.ts";
import type { PublishMessage } from "../src/broker/commands.ts";
import { BrokerState } from "../src/broker/state-machine.ts";
import { CborWriter } from "../src/util/cbor-writer.ts";
import { isName, isTopic, readName, readTopic } from "../src/util/name-bytes.ts";

const ROUNDS = 7;
const names = Array.from({ length: 16 }, (_, i) => `orders.eu-${i}`);
const encoded = names.map((n) => new TextEncoder().encode(n));
const w = new CborWriter(1 << 20);
const CALLS = 2_000_000;

const nameCases: [string, (i: number) => unknown][] = [
  ["readName (ASCII rule)", (i) => readName(encoded[i & 15]!, 0, encoded[i & 15]!.length)],
  ["readTopic (UTF-8 rule)", (i) => readTopic(encoded[i & 15]!, 0, encoded[i & 15]!.length)],
  ["isName (ASCII rule)", (i) => isName(names[i & 15]!)],
  ["isTopic (UTF-8 rule)", (i) => isTopic(names[i & 15]!)],
  ["CborWriter.ascii", (i) => (w.at > 900_000 ? w.adopt(w.buffer) : w.ascii(names[i & 15]!))],
  ["CborWriter.text", (i) => (w.at > 900_000 ? w.adopt(w.buffer) : w.text(names[i & 15]!))],
];
const nameBest = new Map<string, number>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [label, f] of nameCases) {
    const start = performance.now();
    for (let i = 0; i < CALLS; i++) f(i);
    const ns = ((performance.now() - start) * 1e6) / CALLS;
    nameBest.set(label, Math.min(nameBest.get(label) ?? Infinity, ns));
  }
}
for (const [label, ns] of nameBest) console.log(`${label.padEnd(26)} ${ns.toFixed(1).padStart(6)} ns per call`);

const data = new Uint8Array(128);
const HEADERS: [string, string][] = [
  ["content-type", "application/json"],
  ["trace-id", "4bf92f35"],
];
function entries(extra: Partial<PublishMessage>): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let e = 0; e < 500; e++) {
    const messages: PublishMessage[] = Array.from({ length: 100 }, (_, i) => ({
      topic: `t${i % 10}`,
      data,
      producer: "p",
      seq: e * 100 + i,
      epoch: 1,
      low: e * 100 + i,
      ...extra,
    }));
    out.push(Uint8Array.from(encodeCommand({ type: "publish", time: 1_700_000_000_000 + e, messages })));
  }
  return out;
}
const kinds: [string, Uint8Array[]][] = [
  ["plain", entries({})],
  ["two headers", entries({ headers: HEADERS })],
  ["a TTL", entries({ ttl: 3_600_000 })],
];
const applyBest = new Map<string, number>();
for (let round = 0; round < ROUNDS; round++) {
  for (const [label, list] of kinds) {
    const state = new BrokerState();
    state.apply(1, encodeCommand({ type: "register", time: 1, producer: "p" }));
    const start = performance.now();
    let index = 1;
    for (const e of list) state.apply(++index, e);
    const rate = (list.length * 100 * 1000) / (performance.now() - start);
    applyBest.set(label, Math.max(applyBest.get(label) ?? 0, rate));
  }
}
for (const [label, rate] of applyBest)
  console.log(`apply, ${label.padEnd(19)} ${Math.round(rate).toLocaleString("en").padStart(10)} msgs/s`);
