import { ProducerWindow } from "./producer-window.ts";

/**
 * The dedup window: recent (producer, seq) pairs and where each was stored. Bounded three ways,
 * all in command time and counts so that every replica forgets the same things at the same entry:
 * a producer idle for longer than PRODUCER_IDLE_MS is forgotten, each producer keeps its last
 * SEQS_PER_PRODUCER seqs (producer-window.ts), past MAX_SEQS seqs in all the least recently active
 * producers' seqs are forgotten first (a registered producer keeps its epoch and next seq, so a
 * retry is still known as stored), and past MAX_PRODUCERS producers the least recently active
 * producers are forgotten entirely.
 */

export const PRODUCER_IDLE_MS = 120_000;
export const MAX_PRODUCERS = 100_000;
export const MAX_SEQS = 1_000_000;

export class DedupWindow {
  /** Insertion order is activity order: a producer is moved to the end when it publishes at a new time. */
  private readonly producers = new Map<string, ProducerWindow>();
  private seqs = 0;

  get producerCount(): number {
    return this.producers.size;
  }

  get seqCount(): number {
    return this.seqs;
  }

  /** The producer's window, created when new, marked active at `now`. */
  touch(id: string, now: number): ProducerWindow {
    const window = this.producers.get(id);
    if (window === undefined) {
      const created = new ProducerWindow(id, now);
      this.producers.set(id, created);
      return created;
    }
    if (window.lastSeen !== now) {
      this.producers.delete(id);
      this.producers.set(id, window);
      window.lastSeen = now;
    }
    return window;
  }

  record(window: ProducerWindow, seq: number, topicId: number, offset: number): void {
    this.seqs += window.record(seq, topicId, offset);
    if (this.seqs > MAX_SEQS || this.producers.size > MAX_PRODUCERS) this.evictLeastActive(window);
  }

  /** A new incarnation of `window`'s producer: epoch `epoch`, expecting `nextSeq`, no seq remembered. */
  restart(window: ProducerWindow, epoch: number, nextSeq: number, session?: string): void {
    this.seqs -= window.restart(epoch, nextSeq, session);
    if (this.producers.size > MAX_PRODUCERS) this.evictLeastActive(window);
  }

  /** Forgets producers idle for longer than PRODUCER_IDLE_MS at `now`. */
  expire(now: number): void {
    for (const window of this.producers.values()) {
      if (now - window.lastSeen <= PRODUCER_IDLE_MS) return;
      this.forget(window);
    }
  }

  /** Producers from least to most recently active. */
  windows(): IterableIterator<ProducerWindow> {
    return this.producers.values();
  }

  /** Adds a window restored from a snapshot; restore in activity order. */
  restore(window: ProducerWindow): void {
    this.producers.set(window.id, window);
    this.seqs += window.count;
  }

  private evictLeastActive(keep: ProducerWindow): void {
    for (const window of this.producers.values()) {
      if (this.seqs <= MAX_SEQS && this.producers.size <= MAX_PRODUCERS) return;
      if (window === keep) continue;
      // a registered producer's seqs go first; the producer itself only when there are too many producers
      if (window.epoch > 0 && this.producers.size <= MAX_PRODUCERS) this.seqs -= window.forgetSeqs();
      else this.forget(window);
    }
  }

  private forget(window: ProducerWindow): void {
    this.producers.delete(window.id);
    this.seqs -= window.count;
  }
}
