import type { Command } from "../broker/commands.ts";
import { type AckKind, MAX_ACKS_PER_COMMAND } from "../broker/groups/group-commands.ts";
import type { ApplyResult } from "../broker/results.ts";
import { MqraftError } from "../util/errors.ts";

/** Answers one request's settles: the offsets refused, or the error that failed them all. */
type Answer = (refused: number[] | MqraftError) => void;

interface Part {
  offsets: readonly number[];
  answer: Answer;
}

interface Batch {
  group: string;
  member: string;
  kind: AckKind;
  offsets: number[];
  attempts: number[];
  parts: Part[];
}

/**
 * Settles of one turn, one command per member and kind: a member that acks in small requests would otherwise cost a
 * Raft entry per request. Each request is answered once its command is applied, with the offsets refused because the
 * member does not hold that delivery (it expired and went to another member, or was acked already). Whole requests
 * go in: one answer per request, not per offset, as a request carries up to a member's whole window.
 */
export class GroupAckBatcher {
  private readonly batches = new Map<string, Batch>();
  private scheduled = false;

  constructor(
    private readonly propose: (command: Command) => Promise<ApplyResult>,
    private readonly now: () => number,
    private readonly defer: (fn: () => void) => void,
  ) {}

  add(
    group: string,
    member: string,
    kind: AckKind,
    offsets: readonly number[],
    attempts: readonly number[],
    answer: Answer,
  ): void {
    const key = `${group}\u0000${member}\u0000${kind}`;
    let batch = this.batches.get(key);
    if (batch !== undefined && batch.offsets.length + offsets.length > MAX_ACKS_PER_COMMAND) {
      this.batches.delete(key);
      this.flush(batch);
      batch = undefined;
    }
    if (batch === undefined) {
      batch = { group, member, kind, offsets: [], attempts: [], parts: [] };
      this.batches.set(key, batch);
    }
    for (let i = 0; i < offsets.length; i++) {
      batch.offsets.push(offsets[i] as number);
      batch.attempts.push(attempts[i] as number);
    }
    batch.parts.push({ offsets, answer });
    if (!this.scheduled) {
      this.scheduled = true;
      this.defer(() => {
        this.scheduled = false;
        const batches = [...this.batches.values()];
        this.batches.clear();
        for (const b of batches) this.flush(b);
      });
    }
  }

  private flush(batch: Batch): void {
    const { group, member, kind, offsets, attempts, parts } = batch;
    this.propose({ type: "group-ack", time: this.now(), group, member, kind, offsets, attempts }).then(
      (r) => {
        if (r.type === "error") {
          const error = new MqraftError(r.code, r.message);
          for (const part of parts) part.answer(error);
          return;
        }
        if (r.type !== "group-ack") {
          const error = new MqraftError("INTERNAL", `a group-ack was answered by ${r.type}`);
          for (const part of parts) part.answer(error);
          return;
        }
        if (r.refused.length === 0) {
          for (const part of parts) part.answer([]);
          return;
        }
        const refused = new Set(r.refused);
        for (const part of parts) part.answer(part.offsets.filter((o) => refused.has(o)));
      },
      (e: unknown) => {
        const error = e instanceof MqraftError ? e : new MqraftError("INTERNAL", String(e));
        for (const part of parts) part.answer(error);
      },
    );
  }
}
