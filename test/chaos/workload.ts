import { connect, type MqraftClient } from "../../src/client/index.ts";
import { isMqraftError } from "../../src/util/errors.ts";
import type { Prng } from "../../src/util/prng.ts";
import type { Recorder } from "./recorder.ts";

export const TOPICS = ["chaos-a", "chaos-b", "chaos-c"] as const;
const PUBLISH_TIMEOUT_MS = 5_000;
/** How often a reader waiting for a message looks whether the run is over. */
const STOP_CHECK_MS = 100;
const PIPELINE_DEPTH = 20;

const decoder = new TextDecoder();

/**
 * Publishes one value and records its invocation and outcome. Only a refusal made before anything was sent is a
 * definite failure; every other error leaves the value possibly stored.
 */
async function publishRecorded(
  client: MqraftClient,
  recorder: Recorder,
  process: string,
  sequential: boolean,
  topic: string,
  value: string,
): Promise<void> {
  recorder.record({ type: "invoke", time: recorder.now(), process, sequential, topic, value });
  try {
    const { offset } = await client.publish(topic, value);
    recorder.record({ type: "ok", time: recorder.now(), process, topic, value, offset });
  } catch (e) {
    const error = e instanceof Error ? e.message : String(e);
    const definite = isMqraftError(e, "BAD_USAGE");
    recorder.record({ type: definite ? "fail" : "info", time: recorder.now(), process, topic, value, error });
  }
}

/** A writer that awaits each acknowledgement before the next publish, pacing itself by `pauseMs`. */
export async function sequentialWriter(
  name: string,
  servers: string[],
  recorder: Recorder,
  prng: Prng,
  running: () => boolean,
): Promise<void> {
  const client = await connect({ servers, timeoutMs: PUBLISH_TIMEOUT_MS });
  let n = 0;
  try {
    while (running()) {
      await publishRecorded(client, recorder, name, true, prng.pick(TOPICS), `${name}-${n++}`);
      await Bun.sleep(prng.int(2, 20));
    }
  } finally {
    await client.close();
  }
}

/** A writer with up to PIPELINE_DEPTH publishes in flight at once. */
export async function pipelinedWriter(
  name: string,
  servers: string[],
  recorder: Recorder,
  prng: Prng,
  running: () => boolean,
): Promise<void> {
  const client = await connect({ servers, timeoutMs: PUBLISH_TIMEOUT_MS });
  const inFlight = new Set<Promise<void>>();
  let n = 0;
  try {
    while (running()) {
      const p = publishRecorded(client, recorder, name, false, prng.pick(TOPICS), `${name}-${n++}`).finally(() =>
        inFlight.delete(p),
      );
      inFlight.add(p);
      if (inFlight.size >= PIPELINE_DEPTH) await Promise.race(inFlight);
      if (prng.chance(0.1)) await Bun.sleep(prng.int(1, 10));
    }
    await Promise.all(inFlight);
  } finally {
    await client.close();
  }
}

/**
 * Reads `messages` until `until` or until the run is over, recording each read as `process`'s, then `each(m)`. While
 * it waits for a message that may never come (the writers stopped), it looks at `running()` every STOP_CHECK_MS
 * instead of sitting out its read window.
 */
async function readWindow<M extends { topic: string; offset: number; data: Uint8Array }>(
  messages: AsyncIterable<M>,
  until: number,
  process: string,
  recorder: Recorder,
  running: () => boolean,
  each: (m: M) => Promise<void> | void,
): Promise<void> {
  const iterator = messages[Symbol.asyncIterator]();
  let pending = iterator.next();
  while (running() && performance.now() < until) {
    const wait = Math.max(0, Math.min(STOP_CHECK_MS, until - performance.now()));
    const step = await Promise.race([pending, Bun.sleep(wait).then(() => undefined)]);
    if (step === undefined) continue;
    if (step.done) return;
    pending = iterator.next();
    const m = step.value;
    const value = decoder.decode(m.data);
    recorder.record({ type: "read", time: recorder.now(), process, topic: m.topic, offset: m.offset, value });
    await each(m);
  }
}

/**
 * A subscriber to one topic that prefers one broker, drops its client at random moments and subscribes again from
 * the offset after the last it read: its reads must be contiguous across every reconnect.
 */
export async function subscriber(
  name: string,
  topic: string,
  servers: string[],
  recorder: Recorder,
  prng: Prng,
  running: () => boolean,
): Promise<void> {
  let next = 0;
  while (running()) {
    let client: MqraftClient | undefined;
    try {
      client = await connect({ servers, timeoutMs: PUBLISH_TIMEOUT_MS, resumeTimeoutMs: 30_000 });
      const subscription = await client.subscribe(topic, { from: next });
      recorder.record({ type: "subscribe", time: recorder.now(), process: name, topic, from: next });
      const until = performance.now() + prng.int(1_000, 6_000);
      await readWindow(subscription, until, name, recorder, running, (m) => {
        next = m.offset + 1;
      });
    } catch {
      await Bun.sleep(prng.int(100, 500));
    } finally {
      await client?.close();
    }
  }
}

/**
 * A durable consumer of one topic: each client takes up the durable subscription `name` where the cluster says it
 * stands, reads for a while, acks most messages (awaiting the cluster's confirmation), and is then dropped without
 * warning, usually with messages read but not acked. Its acked position must never go back, nor skip an unacked
 * message; each client's reads are a lane of their own (`name#k`), contiguous from the position it was given.
 */
export async function durableConsumer(
  name: string,
  topic: string,
  servers: string[],
  recorder: Recorder,
  prng: Prng,
  running: () => boolean,
): Promise<void> {
  for (let session = 1; running(); session++) {
    let client: MqraftClient | undefined;
    try {
      client = await connect({ servers, timeoutMs: PUBLISH_TIMEOUT_MS, resumeTimeoutMs: 30_000 });
      const subscription = await client.subscribe(topic, { from: 0, durable: name });
      const position = subscription.positions[topic] ?? 0;
      const lane = `${name}#${session}`;
      recorder.record({ type: "dresume", time: recorder.now(), process: name, topic, position });
      recorder.record({ type: "subscribe", time: recorder.now(), process: lane, topic, from: position });
      const until = performance.now() + prng.int(1_000, 6_000);
      await readWindow(subscription, until, lane, recorder, running, async (m) => {
        if (!prng.chance(0.8)) return;
        recorder.record({ type: "dack-invoke", time: recorder.now(), process: name, topic, offset: m.offset });
        try {
          await subscription.ack(m);
          recorder.record({ type: "dack", time: recorder.now(), process: name, topic, offset: m.offset });
        } catch {
          // unknown: the ack may still be recorded
        }
      });
    } catch {
      await Bun.sleep(prng.int(100, 500));
    } finally {
      await client?.close();
    }
  }
}
