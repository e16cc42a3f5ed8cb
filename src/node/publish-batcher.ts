import { encodeCommand } from "../broker/command-codec.ts";
import type { PublishMessage } from "../broker/commands.ts";
import type { ApplyResult } from "../broker/results.ts";
import { PublishMetrics } from "../metrics/publish-metrics.ts";
import type { Proposed } from "../raft/index.ts";
import { isMqraftError, MqraftError } from "../util/errors.ts";
import type { PendingProposals } from "./pending-proposals.ts";

export type PublishOutcome = ApplyResult | MqraftError;

/** Past this many payload bytes a batch is proposed at once instead of at the end of the turn. */
const MAX_BATCH_BYTES = 1 << 20;

/**
 * Packs the publishes that arrive in one event-loop turn (from every client) into one Raft entry:
 * one proposal, one encode, one slot per message.
 */
export class PublishBatcher {
  private messages: PublishMessage[] = [];
  private callbacks: ((outcome: PublishOutcome) => void)[] = [];
  private bytes = 0;
  private scheduled = false;
  /** When the batch's first message arrived (performance.now()); the batch is acknowledged together. */
  private startedAt = 0;
  /** Observability: results and ack latency, read by /metrics. */
  readonly metrics = new PublishMetrics();

  constructor(
    private readonly propose: (data: Uint8Array) => Proposed,
    private readonly pending: PendingProposals,
    private readonly now: () => number,
    private readonly defer: (fn: () => void) => void,
  ) {}

  add(message: PublishMessage, done: (outcome: PublishOutcome) => void): void {
    if (this.messages.length === 0) this.startedAt = performance.now();
    this.messages.push(message);
    this.callbacks.push(done);
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
    const callbacks = this.callbacks;
    this.messages = [];
    this.callbacks = [];
    this.bytes = 0;
    const startedAt = this.startedAt;
    let proposed: Proposed;
    try {
      proposed = this.propose(encodeCommand({ type: "publish", time: this.now(), messages }));
    } catch (e) {
      const error = isMqraftError(e) ? e : new MqraftError("INTERNAL", String(e));
      this.metrics.settled(error, callbacks.length, startedAt);
      for (const cb of callbacks) cb(error);
      return;
    }
    this.pending.add(proposed, (outcome) => {
      this.metrics.settled(outcome, callbacks.length, startedAt);
      if (outcome instanceof MqraftError) {
        for (const cb of callbacks) cb(outcome);
        return;
      }
      for (const [slot, cb] of callbacks.entries()) {
        cb(outcome[slot] ?? new MqraftError("INTERNAL", `no result for slot ${slot}`));
      }
    });
  }
}
