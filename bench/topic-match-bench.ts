/**
 * Matching topics against wildcard patterns at 10,000 topics and 1,000 patterns (docs/messaging.md).
 * Run: CBOR_NATIVE_ACCELERATION_DISABLED=true node_modules/.bin/bun bench/topic-match-bench.ts
 *
 * 1. PatternTrie.match (what a broker does once per new topic, for its pattern streams and, in the state machine,
 *    for durable subscriptions with patterns) against testing every pattern in turn.
 * 2. The state machine creating 10,000 topics and then publishing to them, with 1,000 durable pattern subscriptions
 *    and with none: publishing to an existing topic matches nothing.
 * 3. expandPatterns over the 10,000 topics (what a subscribe with a pattern does, once).
 * 4. A push stream subscribed to `>` (all 10,000 topics), caught up: what a pump costs it, reading every topic
 *    (after it starts or a snapshot) and reading only the topics a commit changed (every other time).
 */
import { encodeCommand } from "../src/broker/command-codec.ts";
import type { PublishMessage } from "../src/broker/commands.ts";
import { BrokerState } from "../src/broker/state-machine.ts";
import { PatternTrie } from "../src/broker/topic-trie.ts";
import { Subscription } from "../src/node/subscription-feed.ts";
import { expandPatterns, TopicPattern } from "../src/util/topic-pattern.ts";

const TOPICS = 10_000;
const PATTERNS = 1_000;
const T0 = 1_700_000_000_000;

// region.site.device.metric: 10 regions x 10 sites x 20 devices x 5 metrics = 10,000 topics
const topics: string[] = [];
for (let r = 0; r < 10; r++)
  for (let s = 0; s < 10; s++)
    for (let d = 0; d < 20; d++) for (let m = 0; m < 5; m++) topics.push(`region${r}.site${s}.dev${d}.m${m}`);

// 1,000 patterns of five shapes, most of them matching a few topics, some many
const patterns: string[] = [];
for (let i = 0; patterns.length < PATTERNS; i++) {
  const r = i % 10;
  const s = Math.floor(i / 10) % 10;
  const d = Math.floor(i / 100) % 20;
  const shapes = [
    `region${r}.site${s}.dev${d}.*`,
    `region${r}.*.dev${d}.m${i % 5}`,
    `region${r}.site${s}.>`,
    `*.site${s}.dev${d}.m${i % 5}`,
    `region${r}.site${s}.dev${d}.m${(i + 1) % 5}.extra`,
  ];
  patterns.push(shapes[i % shapes.length] as string);
}

function time(label: string, ops: number, run: () => number, unit = "topic"): void {
  let best = Infinity;
  let result = 0;
  for (let round = 0; round < 5; round++) {
    const start = performance.now();
    result = run();
    best = Math.min(best, performance.now() - start);
  }
  const perOp = (best * 1e6) / ops;
  console.log(`${label.padEnd(62)} ${perOp.toFixed(0).padStart(8)} ns/${unit}  (${best.toFixed(1)} ms; ${result})`);
}

console.log(`${TOPICS} topics, ${PATTERNS} patterns`);
const trie = new PatternTrie<number>();
for (const [i, p] of patterns.entries()) trie.add(p, i);
const compiled = patterns.map((p) => new TopicPattern(p));
time("trie: the patterns each topic matches", TOPICS, () => {
  let found = 0;
  for (const topic of topics) trie.match(topic, () => found++);
  return found;
});
time("scan: every pattern tested against each topic", TOPICS, () => {
  let found = 0;
  for (const topic of topics) {
    const tokens = topic.split(".");
    for (const p of compiled) if (p.matchesTokens(tokens)) found++;
  }
  return found;
});
time("expandPatterns: one subscribe to 3 patterns over every topic", TOPICS, () => {
  return expandPatterns(["region1.*.dev3.*", "region2.>", "*.site4.dev5.m1"], topics).topics.length;
});

function entries(from: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  const data = new Uint8Array(128);
  for (let i = 0; i < TOPICS; i += 100) {
    const messages: PublishMessage[] = topics.slice(i, i + 100).map((topic) => ({ topic, data }));
    out.push(Uint8Array.from(encodeCommand({ type: "publish", time: T0 + from + i, messages })));
  }
  return out;
}

function stateWith(durables: number): BrokerState {
  const state = new BrokerState();
  for (let i = 0; i < durables; i++) {
    state.apply(
      i + 1,
      encodeCommand({ type: "subscribe", time: T0, name: `d${i}`, topics: [patterns[i] as string], from: "earliest" }),
    );
  }
  return state;
}

const create = entries(0);
const again = entries(TOPICS);
for (const durables of [0, PATTERNS]) {
  let state = stateWith(durables);
  time(`state machine, ${durables} pattern durables: create each topic`, TOPICS, () => {
    state = stateWith(durables);
    let index = durables;
    for (const e of create) state.apply(++index, e);
    return state.topicCount;
  });
  time(`state machine, ${durables} pattern durables: publish to existing`, TOPICS, () => {
    let index = state.appliedIndex;
    for (const e of again) state.apply(++index, e);
    return state.appliedIndex;
  });
}

{
  const state = stateWith(0);
  let index = 0;
  for (const e of create) state.apply(++index, e);
  const sink = { send: () => true, queuedBytes: 0, isOpen: true, writable: () => Promise.resolve() };
  const positions = new Map(topics.map((t) => [t, state.nextOffsetOf(t)]));
  const stream = new Subscription(1, positions, sink, undefined);
  const noRead = () => undefined;
  const noFailure = () => {};
  time(
    "a caught-up stream over all 10,000 topics: a pump reading every topic",
    1,
    () => {
      stream.pump(state, noRead, noFailure);
      return stream.delivered;
    },
    "pump",
  );
  const changed = [topics[0] as string];
  time(
    "the same stream after a commit to one topic (reads what changed)",
    1,
    () => {
      stream.pump(state, noRead, noFailure, changed);
      return stream.delivered;
    },
    "pump",
  );
}
