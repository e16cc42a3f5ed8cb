import { isMqraftError, MqraftError } from "../util/errors.ts";
import { isFatal, isRetryable, leaderHint } from "./client-errors.ts";
import { backoffMs, now, remaining, sleep, withDeadline } from "./deadline.ts";
import type { RequestChannel } from "./request-channel.ts";
import type { ServerPool } from "./server-pool.ts";

/** Redirects followed in a row before settling for any broker and letting its NOT_LEADER answers steer. */
const MAX_REDIRECTS = 3;

/**
 * The client's connection to the leader, for requests only the leader serves (publish, ack). Finds the leader from
 * welcomes and NOT_LEADER answers; users report each retryable failure of a request with `report`, which drops the
 * channel and decides where to look next: the leader the refusal named, else (an election is running) any other
 * broker after a growing pause.
 */
export class LeaderLink {
  private current: RequestChannel | undefined;
  private hint: string | undefined;
  private pausedUntil = 0;
  private leaderlessStreak = 0;
  private redirectStreak = 0;
  private discovering: Promise<RequestChannel> | undefined;
  private discoverUntil = 0;
  private lastProblem: unknown;
  private closed = false;

  constructor(private readonly pool: ServerPool) {}

  /** Why the last attempt to reach or use the leader failed. */
  get problem(): unknown {
    return this.lastProblem;
  }

  /** The open channel to the leader, if there is one right now. */
  get channel(): RequestChannel | undefined {
    return this.current?.isOpen ? this.current : undefined;
  }

  /** The channel to the leader, found if need be; rejects with NO_LEADER at the deadline. */
  get(deadline: number): Promise<RequestChannel> {
    const open = this.channel;
    if (open !== undefined) return Promise.resolve(open);
    this.discoverUntil = Math.max(this.discoverUntil, deadline);
    let attempt = this.discovering;
    if (attempt === undefined) {
      const started = this.discover();
      this.discovering = attempt = started;
      // callers race the search against their own deadlines: a search that fails after they left must not go unhandled
      started.then(
        () => this.endSearch(started),
        () => this.endSearch(started),
      );
    }
    return withDeadline(attempt, deadline, () => this.noLeader());
  }

  /** A request on `channel` failed in a way another leader or a later attempt may fix. */
  report(channel: RequestChannel, error: unknown): void {
    this.lastProblem = error;
    if (this.current !== channel) return;
    this.current = undefined;
    channel.close();
    const hint = leaderHint(error);
    // brokers that keep naming each other (or one address under two names) must not spin the client
    if (hint !== undefined && hint !== channel.address && this.redirectStreak++ < MAX_REDIRECTS) {
      this.hint = hint;
      return;
    }
    this.hint = hint === channel.address ? undefined : hint;
    this.pool.demote(channel.address);
    if (isMqraftError(error, "NOT_LEADER") || isMqraftError(error, "NO_LEADER")) {
      this.pausedUntil = now() + backoffMs(this.leaderlessStreak++);
    }
  }

  /** A request succeeded: the leader is known again. */
  confirm(): void {
    this.leaderlessStreak = 0;
    this.redirectStreak = 0;
  }

  /** Sends a one-shot request to the leader, again on each retryable failure, until the deadline. */
  async call<T>(deadline: number, send: (channel: RequestChannel) => Promise<T>): Promise<T> {
    for (;;) {
      const channel = await this.get(deadline);
      try {
        const result = await withDeadline(
          send(channel),
          deadline,
          () => new MqraftError("TIMEOUT", `${channel.address} did not answer in time`),
        );
        this.confirm();
        return result;
      } catch (e) {
        if (!isRetryable(e) || remaining(deadline) === 0 || this.closed) throw e;
        this.report(channel, e);
      }
    }
  }

  close(): void {
    this.closed = true;
    this.current?.close();
    this.current = undefined;
  }

  private async discover(): Promise<RequestChannel> {
    let redirects = 0;
    for (;;) {
      if (this.closed) throw new MqraftError("CONNECTION_CLOSED", "the client was closed");
      if (remaining(this.discoverUntil) === 0) throw this.noLeader();
      const pause = Math.min(this.pausedUntil - now(), remaining(this.discoverUntil));
      if (pause > 0) {
        await sleep(pause);
        continue;
      }
      const first = this.hint;
      this.hint = undefined;
      let channel: RequestChannel;
      try {
        channel = await this.pool.openBroker(this.discoverUntil, first);
      } catch (e) {
        if (isFatal(e)) throw e;
        this.lastProblem = e;
        continue;
      }
      const { nodeId, leader } = channel.welcome;
      const leaderAddress = leader === undefined || leader === nodeId ? undefined : this.pool.addressOf(leader);
      if (leaderAddress !== undefined && leaderAddress !== channel.address && redirects < MAX_REDIRECTS) {
        channel.close();
        this.hint = leaderAddress;
        redirects++;
        continue;
      }
      if (this.closed) {
        channel.close();
        continue;
      }
      this.current = channel;
      return channel;
    }
  }

  private endSearch(search: Promise<RequestChannel>): void {
    if (this.discovering === search) this.discovering = undefined;
  }

  private noLeader(): MqraftError {
    const why = this.lastProblem instanceof Error ? `: ${this.lastProblem.message}` : "";
    return new MqraftError("NO_LEADER", `no leader could be reached in time${why}`, { cause: this.lastProblem });
  }
}
