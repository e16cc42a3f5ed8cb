import * as v from "valibot";
import { firstIssue } from "../util/config-values.ts";
import { MqraftError } from "../util/errors.ts";
import type { HeaderPairs } from "../util/message-headers.ts";
import { isTopic } from "../util/name-bytes.ts";
import { TopicSchema } from "../util/names.ts";
import type { Published } from "../wire/index.ts";
import { isRetryable } from "./client-errors.ts";
import { now, remaining, seconds, withDeadline } from "./deadline.ts";
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
  /** Times sent, over all channels. */
  sends: number;
  readonly topic: string;
  readonly data: Uint8Array;
  readonly headers: HeaderPairs | undefined;
  readonly ttl: number | undefined;
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
    limit !== undefined &&
    entry.data.length + 3 * entry.topic.length + producer.length + headerBytes(entry) + PUBLISH_OVERHEAD_BYTES > limit
  );
}

/** At most what the headers take in CBOR (3 bytes of UTF-8 per UTF-16 unit, a few of framing per pair). */
function headerBytes(entry: Entry): number {
  let n = 0;
  for (const [key, value] of entry.headers ?? []) n += key.length + 3 * value.length + 8;
  return n;
}

/**
 * Pipelined, idempotent, ordered publishing through the leader link. Before its first publish the client registers
 * its producer id with the leader and gets an epoch: publishes under an older epoch (a previous run of this program,
 * or another client given the same id) are refused from then on (FENCED), so two incarnations never mistake each
 * other's seqs for their own. Every publish gets the next `seq`; until it is acknowledged it stays in `entries`, in
 * seq order. The broker stores a registered producer's seqs strictly in order: a publish refused on its way (a
 * leadership transfer, a lost connection) makes the ones after it be refused too (OUT_OF_ORDER), and the client then
 * sends everything unacknowledged again, in order, with the same (producer, epoch, seq), on the leader's channel; the
 * broker answers the ones it already stored with their original offsets. Each publish also carries `low`, the
 * oldest seq still waiting: the broker no longer waits for the seqs below it (acknowledged, or given up after a
 * timeout), so a given-up seq leaves no hole, and a late copy of it (still in flight on an old connection) is refused
 * instead of stored. At most `window` publishes are on the wire, and sending also waits while the connection's queue
 * is full.
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
  /** From the leader's answer to `register`; undefined until then, and after a hole or a fence. */
  private epoch: number | undefined;
  /** Moves on whenever what is on the wire stops counting (a hole, a fence): later answers to it are ignored. */
  private generation = 0;
  private running = false;
  private wakeup: PromiseWithResolvers<void> | undefined;
  /**
   * Sent with every register of this publisher: a register that arrives late (after a retry of it was answered) is
   * then answered with the epoch this publisher holds, instead of fencing it.
   */
  private readonly session = randomSession();
  private timer: ReturnType<typeof setTimeout> | undefined;
  private closed = false;

  constructor(
    private readonly link: LeaderLink,
    private readonly options: PublisherOptions,
  ) {}

  publish(topic: string, data: Uint8Array, headers?: HeaderPairs, ttl?: number): Promise<PublishResult> {
    if (this.closed) return Promise.reject(clientClosed());
    // isTopic is the schema's rule without valibot's cost per publish; valibot words the refusal
    const checked = isTopic(topic) ? undefined : v.safeParse(TopicSchema, topic);
    if (checked !== undefined && !checked.success) {
      return Promise.reject(
        new MqraftError("BAD_USAGE", `topic ${JSON.stringify(topic)}: ${firstIssue(checked.issues)}`),
      );
    }
    const { promise, resolve, reject } = Promise.withResolvers<PublishResult>();
    const entry: Entry = {
      seq: this.nextSeq++,
      sends: 0,
      topic,
      data,
      headers,
      ttl,
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

  /** Waits for the leader's channel (registering first if need be); everything unacknowledged goes out again on it, in seq order. */
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
    if (this.epoch === undefined && !(await this.register(channel, oldest.deadline))) return;
    if (this.closed) return;
    this.channel = channel;
    this.inflight = 0;
    this.unsent = [...this.entries.values()];
    this.unsentHead = 0;
  }

  /** Asks the leader for a new epoch; false when it failed (the channel was reported, or everything failed). */
  private async register(channel: RequestChannel, deadline: number): Promise<boolean> {
    try {
      const answer = await withDeadline(
        channel.ask({ type: "register", producer: this.options.producer, session: this.session }),
        deadline,
        () => new MqraftError("TIMEOUT", `${channel.address} did not answer register in time`),
      );
      this.epoch = answer.epoch;
      return true;
    } catch (e) {
      if (isRetryable(e)) this.link.report(channel, e);
      else this.failAll(e instanceof Error ? e : new MqraftError("INTERNAL", String(e)));
      this.expire();
      return false;
    }
  }

  private failAll(error: Error): void {
    const left = [...this.entries.values()];
    this.entries.clear();
    this.unsent = [];
    this.unsentHead = 0;
    clearTimeout(this.timer);
    this.timer = undefined;
    for (const entry of left) entry.reject(error);
  }

  private sendSome(channel: RequestChannel): void {
    const connection = channel.connection;
    const { producer, window } = this.options;
    const epoch = this.epoch;
    const generation = this.generation;
    // the oldest seq still waiting; it only grows, so taking it once for this round is safe
    const low = (this.entries.values().next().value as Entry | undefined)?.seq ?? this.nextSeq;
    // attach() registers before it hands out a channel, and whatever drops the epoch drops the channel too
    if (epoch === undefined) throw new MqraftError("INTERNAL", "publishing without a registered epoch");
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
            epoch,
            low,
            ...(entry.headers === undefined ? {} : { headers: entry.headers }),
            ...(entry.ttl === undefined ? {} : { ttl: entry.ttl }),
          },
          (result) => this.settled(entry, channel, generation, result),
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
      entry.sends++;
      this.inflight++;
    }
    if (this.unsentHead > COMPACT_AFTER && this.unsentHead * 2 > this.unsent.length) {
      this.unsent = this.unsent.slice(this.unsentHead);
      this.unsentHead = 0;
    }
  }

  private settled(entry: Entry, channel: RequestChannel, generation: number, result: Published | MqraftError): void {
    // answers from a channel already given up are stale: their entries were queued again for the next one
    if (channel !== this.channel || generation !== this.generation) return;
    if (result instanceof MqraftError && isRetryable(result)) {
      this.channel = undefined;
      this.link.report(channel, result);
      this.wake();
      return;
    }
    if (result instanceof MqraftError && (result.code === "OUT_OF_ORDER" || result.code === "FENCED")) {
      // OUT_OF_ORDER: an older seq still waiting was overtaken (it is on its way on another connection, or was
      // refused on this one): everything unacknowledged goes again, in order. Every answer still due on this channel
      // is about the same overtaking or fence: a new generation ignores them, and the channel (the leader link's,
      // which acks share) stays open
      this.generation++;
      this.channel = undefined;
      if (result.code === "FENCED") {
        this.epoch = undefined;
        this.failAll(result);
      }
      this.wake();
      return;
    }
    this.inflight--;
    if (result instanceof MqraftError) this.finish(entry, result);
    else if (result.duplicate === true && entry.sends === 1) {
      // stored before this client first sent it: another client under this producer id and epoch
      this.finish(
        entry,
        new MqraftError(
          "FENCED",
          `${channel.address} already held producer ${this.options.producer} seq ${entry.seq}: another client uses this producer id`,
        ),
      );
    } else {
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

/**
 * When this publisher started (ms since 1970), then 128 random bits in hex: no two clients share a session, and a
 * register of an incarnation that started before the registered one (its process gone, its register late) is refused
 * instead of fencing the newer one (docs/state-machine.md, "Registered producers").
 */
function randomSession(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return `${Date.now()}.${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}
