import type { Command } from "../broker/commands.ts";
import { type AckKind, MAX_ACKS_PER_COMMAND } from "../broker/groups/group-commands.ts";
import type { ApplyResult } from "../broker/results.ts";
import { MqraftError } from "../util/errors.ts";

type Settle = (error: MqraftError | undefined) => void;

interface Batch {
  group: string;
  member: string;
  kind: AckKind;
  offsets: number[];
  attempts: number[];
  settles: Settle[];
}

/**
 * Acks of one turn, one command per member and kind: a member acking each message on its own would otherwise cost a
 * Raft entry per message. Each ack is answered once its command is applied: settled, or refused because the member
 * does not hold that message (it expired and went to another member, or was acked already).
 */
export class GroupAckBatcher {
  private readonly batches = new Map<string, Batch>();
  private scheduled = false;

  constructor(
    private readonly propose: (command: Command) => Promise<ApplyResult>,
    private readonly now: () => number,
    private readonly defer: (fn: () => void) => void,
  ) {}

  add(group: string, member: string, kind: AckKind, offset: number, attempt: number, settle: Settle): void {
    const key = `${group}\u0000${member}\u0000${kind}`;
    let batch = this.batches.get(key);
    if (batch === undefined || batch.offsets.length >= MAX_ACKS_PER_COMMAND) {
      if (batch !== undefined) this.flush(batch);
      batch = { group, member, kind, offsets: [], attempts: [], settles: [] };
      this.batches.set(key, batch);
    }
    batch.offsets.push(offset);
    batch.attempts.push(attempt);
    batch.settles.push(settle);
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
    const { group, member, kind, offsets, attempts, settles } = batch;
    this.propose({ type: "group-ack", time: this.now(), group, member, kind, offsets, attempts }).then(
      (r) => {
        if (r.type === "error") {
          const error = new MqraftError(r.code, r.message);
          for (const settle of settles) settle(error);
          return;
        }
        const refused = new Set(r.type === "group-ack" ? r.refused : offsets);
        offsets.forEach((offset, i) => {
          (settles[i] as Settle)(
            refused.has(offset)
              ? new MqraftError(
                  "REFUSED",
                  `member ${member} of group ${group} does not hold delivery ${attempts[i]} of offset ${offset}: its ack wait passed and it went to another member, or it was settled already`,
                )
              : undefined,
          );
        });
      },
      (e: unknown) => {
        const error = e instanceof MqraftError ? e : new MqraftError("INTERNAL", String(e));
        for (const settle of settles) settle(error);
      },
    );
  }
}
