import * as v from "valibot";
import { firstIssue } from "../util/config-values.ts";
import { MqraftError } from "../util/errors.ts";
import { isName } from "../util/name-bytes.ts";
import { TopicSchema } from "../util/names.ts";
import type { Published } from "../wire/index.ts";
import { isRetryable } from "./client-errors.ts";
import { now, remaining, seconds } from "./deadline.ts";
import type { LeaderLink } from "./leader-link.ts";
import type { RequestChannel } from "./request-channel.ts";
import { clientClosed } from "./server-pool.ts";

export interface PublishResult {
  topic: string;
  offset: number;
}

export interface PublisherOptions {
  /** Sent with every publish; with `seq` it lets the broker store a retried publish once. */
  producer: string;
  /** Publishes sent and not yet acknowledged, at most. */
  window: number;
  /** From `publish()` to its acknowledgement, at most; then it fails with TIMEOUT or NO_LEADER. */
  timeoutMs: number;
}

interface Entry {
  readonly seq: number;
  readonly topic: string;
  readonly data: Uint8Array;
  readonly deadline: number;
  readonly resolve: (result: PublishResult) => void;
  readonly reject: (error: unknown) => void;
}

const COMPACT_AFTER = 1024;
/** More than the CBOR of a publish's other fields and its map keys take. */
const PUBLISH_OVERHEAD_BYTES = 128;

function tooLarge(entry: Entry, channel: RequestChannel, producer: string): boolean {
  const limit = channel.welcome.maxFrameBytes;
  return (
    limit !== undefined && entry.data.length + entry.topic.length + producer.length + PUBLISH_OVERHEAD_BYTES > limit
  );
}

/**
 * Pipelined, idempotent publishing through the leader link. Every publish gets the next `seq` of this client's
 * producer id; until it is acknowledged it stays in `entries`, in seq order. When the channel to the leader is lost
 * or refuses with NOT_LEADER, everything unacknowledged is sent again, in order, with the same (producer, seq), on
 * the next leader's channel: the broker's dedup window answers the ones it already stored with their original
 * offsets. At most `window` publishes are on the wire, and sending also waits while the connection's queue is full.
 */
export class Publisher {
  /** Unacknowledged publishes, by seq; a Map keeps insertion (seq) order, and deadlines grow with seq. */
  private readonly entries = new Map<number, Entry>();
  /** Entries not yet sent on the current channel, in seq order, from `unsentHead` on. */
  private unsent: Entry[] = [];
  private unsentHead = 0;
  /** Requests on the current channel that have not been answered. */
  private inflight = 0;
  private channel: RequestChannel | undefined;
  private nextSeq = 0;
  private running = false;
  private wakeup: PromiseWithResolvers<void> | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(
    private readonly link: LeaderLink,
    private readonly options: PublisherOptions,
  ) {}

  publish(topic: string, data: Uint8Array): Promise<PublishResult> {
    if (this.closed) return Promise.reject(clientClosed());
    // isName is the schema's rule without valibot's cost per publish; valibot words the refusal
    const checked = isName(topic) ? undefined : v.safeParse(TopicSchema, topic);
    if (checked !== undefined && !checked.success) {
      return Promise.reject(
        new MqraftError("BAD_USAGE", `topic ${JSON.stringify(topic)}: ${firstIssue(checked.issues)}`),
      );
    }
    const { promise, resolve, reject } = Promise.withResolvers<PublishResult>();
    const entry: Entry = {
      seq: this.nextSeq++,
      topic,
      data,
      deadline: now() + this.options.timeoutMs,
      resolve,
      reject,
    };
    this.entries.set(entry.seq, entry);
    this.unsent.push(entry);
    this.armTimer();
    this.wake();
    if (!this.running) void this.run();
    return promise;
  }

  /** Fails every unacknowledged publish with CONNECTION_CLOSED. */
  close(): void {
    this.closed = true;
    const left = [...this.entries.values()];
    this.entries.clear();
    this.unsent = [];
    this.unsentHead = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const entry of left) entry.reject(clientClosed());
    this.wake();
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      while (this.entries.size > 0 && !this.closed) {
        const channel = this.channel;
        if (channel === undefined || !channel.isOpen) {
          await this.attach();
          continue;
        }
        if (this.unsentHead >= this.unsent.length || this.inflight >= this.options.window) {
          await this.sleep();
          continue;
        }
        const connection = channel.connection;
        if (connection.queuedBytes > connection.lowWaterBytes) {
          await Promise.race([connection.writable().catch(() => {}), this.sleep()]);
          continue;
        }
        this.sendSome(channel);
      }
    } finally {
      this.running = false;
    }
  }

  /** Waits for the leader's channel; everything unacknowledged goes out again on it, in seq order. */
  private async attach(): Promise<void> {
    this.channel = undefined;
    const oldest = this.entries.values().next().value;
    if (oldest === undefined) return;
    let channel: RequestChannel;
    try {
      channel = await this.link.get(oldest.deadline);
    } catch {
      this.expire();
      return;
    }
    if (this.closed) return;
    this.channel = channel;
    this.inflight = 0;
    this.unsent = [...this.entries.values()];
    this.unsentHead = 0;
  }

  private sendSome(channel: RequestChannel): void {
    const connection = channel.connection;
    const { producer, window } = this.options;
    while (
      this.unsentHead < this.unsent.length &&
      this.inflight < window &&
      connection.queuedBytes <= connection.lowWaterBytes
    ) {
      const entry = this.unsent[this.unsentHead] as Entry;
      this.unsentHead++;
      if (this.entries.get(entry.seq) !== entry) continue;
      if (tooLarge(entry, channel, producer)) {
        // a broker closes the connection on a frame over its limit, failing every publish in flight with it
        this.finish(
          entry,
          new MqraftError(
            "FRAME_TOO_LARGE",
            `a ${entry.data.length}-byte message is over ${channel.address}'s frame limit`,
          ),
        );
        continue;
      }
      let sent: boolean;
      try {
        sent = channel.request(
          // the schema's type names the ArrayBuffer-backed arrays it decodes; the encoder takes any Uint8Array
          {
            type: "publish",
            topic: entry.topic,
            data: entry.data as Uint8Array<ArrayBuffer>,
            producer,
            seq: entry.seq,
          },
          (result) => this.settled(entry, channel, result),
        );
      } catch (e) {
        // too large for a frame: this publish can never succeed, the others are unaffected
        this.finish(entry, e instanceof Error ? e : new MqraftError("INTERNAL", String(e)));
        continue;
      }
      if (!sent) {
        this.unsentHead--;
        return;
      }
      this.inflight++;
    }
    if (this.unsentHead > COMPACT_AFTER && this.unsentHead * 2 > this.unsent.length) {
      this.unsent = this.unsent.slice(this.unsentHead);
      this.unsentHead = 0;
    }
  }

  private settled(entry: Entry, channel: RequestChannel, result: Published | MqraftError): void {
    // answers from a channel already given up are stale: their entries were queued again for the next one
    if (channel !== this.channel) return;
    if (result instanceof MqraftError && isRetryable(result)) {
      this.channel = undefined;
      this.link.report(channel, result);
      this.wake();
      return;
    }
    this.inflight--;
    if (result instanceof MqraftError) this.finish(entry, result);
    else {
      this.link.confirm();
      this.finish(entry, { topic: result.topic, offset: result.offset });
    }
    this.wake();
  }

  private finish(entry: Entry, outcome: PublishResult | Error): void {
    // an entry that timed out meanwhile was already rejected
    if (this.entries.get(entry.seq) !== entry) return;
    this.entries.delete(entry.seq);
    if (this.entries.size === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (outcome instanceof Error) entry.reject(outcome);
    else entry.resolve(outcome);
  }

  private armTimer(): void {
    if (this.timer !== undefined) return;
    const oldest = this.entries.values().next().value;
    if (oldest === undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.expire();
      this.armTimer();
    }, remaining(oldest.deadline));
  }

  private expire(): void {
    const at = now();
    let expired = false;
    for (const entry of this.entries.values()) {
      if (entry.deadline > at) break;
      this.entries.delete(entry.seq);
      entry.reject(this.timeoutError());
      expired = true;
    }
    if (this.entries.size === 0) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (expired) this.wake();
  }

  private timeoutError(): MqraftError {
    const within = seconds(this.options.timeoutMs);
    if (this.channel?.isOpen) {
      return new MqraftError("TIMEOUT", `${this.channel.address} did not acknowledge the publish within ${within}`);
    }
    const problem = this.link.problem;
    const why = problem instanceof Error ? `: ${problem.message}` : "";
    return new MqraftError("NO_LEADER", `no leader acknowledged the publish within ${within}${why}`, {
      cause: problem,
    });
  }

  private sleep(): Promise<void> {
    this.wakeup ??= Promise.withResolvers<void>();
    return this.wakeup.promise;
  }

  private wake(): void {
    const waiting = this.wakeup;
    this.wakeup = undefined;
    waiting?.resolve();
  }
}
