import { encodeCommand } from "../broker/command-codec.ts";
import type { PublishMessage } from "../broker/commands.ts";
import type { ApplyResult } from "../broker/results.ts";
import { PublishMetrics } from "../metrics/publish-metrics.ts";
import type { Proposed } from "../raft/index.ts";
import { isMqraftError, MqraftError } from "../util/errors.ts";
import type { PendingProposals } from "./pending-proposals.ts";

export type PublishOutcome = ApplyResult | MqraftError;

/**
 * Who is told a publish's outcome: one object per connection (or per caller), told with the numbers it gave. A
 * publish waiting for its commit then holds no closure of its own: a closure per publish lived as long as the
 * publish was in flight, so the collector moved it to the old generation, where it piled up as garbage until the next
 * full collection (400,000 functions and scopes, about 20 MB, at a million publishes; docs/memory.md).
 */
export interface PublishSink {
  publishSettled(id: number, bytes: number, outcome: PublishOutcome): void;
}

/** Past this many payload bytes a batch is proposed at once instead of at the end of the turn. */
const MAX_BATCH_BYTES = 1 << 20;

/**
 * Packs the publishes that arrive in one event-loop turn (from every client) into one Raft entry:
 * one proposal, one encode, one slot per message.
 */
export class PublishBatcher {
  private messages: PublishMessage[] = [];
  private sinks: PublishSink[] = [];
  /** The `id` and `bytes` each sink gave, in the messages' order. */
  private tags: number[] = [];
  private bytes = 0;
  private scheduled = false;
  /** When the batch's first message arrived (performance.now()); the batch is acknowledged together. */
  private startedAt = 0;
  /** Observability: results and ack latency, read by /metrics. */
  readonly metrics = new PublishMetrics();
  /** Publishes handed to the batcher and not yet settled, and the bytes their sinks gave (/metrics). */
  inFlight = 0;
  inFlightBytes = 0;

  constructor(
    private readonly propose: (data: Uint8Array) => Proposed,
    private readonly pending: PendingProposals,
    private readonly now: () => number,
    private readonly defer: (fn: () => void) => void,
  ) {}

  add(message: PublishMessage, sink: PublishSink, id: number, bytes: number): void {
    if (this.messages.length === 0) this.startedAt = performance.now();
    this.messages.push(message);
    this.sinks.push(sink);
    this.tags.push(id, bytes);
    this.inFlight++;
    this.inFlightBytes += bytes;
    this.bytes += message.data.length + message.topic.length;
    if (this.bytes >= MAX_BATCH_BYTES) this.flush();
    else if (!this.scheduled) {
      this.scheduled = true;
      this.defer(() => {
        this.scheduled = false;
        this.flush();
      });
    }
  }

  flush(): void {
    if (this.messages.length === 0) return;
    const messages = this.messages;
    const sinks = this.sinks;
    const tags = this.tags;
    this.messages = [];
    this.sinks = [];
    this.tags = [];
    this.bytes = 0;
    const startedAt = this.startedAt;
    let proposed: Proposed;
    try {
      proposed = this.propose(encodeCommand({ type: "publish", time: this.now(), messages }));
    } catch (e) {
      const error = isMqraftError(e) ? e : new MqraftError("INTERNAL", String(e));
      this.metrics.settled(error, sinks.length, startedAt);
      this.settled(tags);
      settleAll(sinks, tags, error);
      return;
    }
    this.pending.add(proposed, (outcome) => {
      this.metrics.settled(outcome, sinks.length, startedAt);
      this.settled(tags);
      if (outcome instanceof MqraftError) return settleAll(sinks, tags, outcome);
      for (let slot = 0; slot < sinks.length; slot++) {
        (sinks[slot] as PublishSink).publishSettled(
          tags[2 * slot] as number,
          tags[2 * slot + 1] as number,
          outcome[slot] ?? new MqraftError("INTERNAL", `no result for slot ${slot}`),
        );
      }
    });
  }

  /** Counts a batch's publishes out of inFlight. */
  private settled(tags: number[]): void {
    this.inFlight -= tags.length / 2;
    for (let i = 1; i < tags.length; i += 2) this.inFlightBytes -= tags[i] as number;
  }
}

function settleAll(sinks: PublishSink[], tags: number[], error: MqraftError): void {
  for (let i = 0; i < sinks.length; i++)
    (sinks[i] as PublishSink).publishSettled(tags[2 * i] as number, tags[2 * i + 1] as number, error);
}

/** A sink for a caller that has a callback per publish anyway (rare publishes: dead letters). */
export function callbackSink(done: (outcome: PublishOutcome) => void): PublishSink {
  return { publishSettled: (_id, _bytes, outcome) => done(outcome) };
}
