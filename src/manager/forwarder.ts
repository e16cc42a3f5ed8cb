import * as v from "valibot";
import type { ClusterAuth } from "../auth/peer-handshake.ts";
import { AddressSchema } from "../util/config-values.ts";
import { describeError, type ErrorCode, MqraftError } from "../util/errors.ts";
import type { Logger } from "../util/log.ts";
import type { ClusterMap } from "./cluster-map.ts";
import { type ForwardedRequest, type UpstreamAnswer, UpstreamLink } from "./upstream-link.ts";

/** Where a forwarded request came from: its answer goes back there, with the client's own id. */
export type Reply = (answer: UpstreamAnswer) => void;

export interface ForwarderSettings {
  requestTimeoutMs: number;
  connectTimeoutMs: number;
  maxFrameBytes: number;
  /** The cluster secret the links to brokers prove (auth/peer-handshake.ts), when the manager has one. */
  auth?: ClusterAuth;
  /** Links opened with a client's token, all tokens together (each is a connection to a broker). */
  maxTokenLinks: number;
  /** Links opened with one token (one per broker it was sent to). */
  maxLinksPerToken: number;
}

/** Answers that say only that this broker was the wrong one or not ready: another broker, or a later try, may serve. */
const RETRY_ON: ReadonlySet<ErrorCode> = new Set<ErrorCode>(["NOT_LEADER", "NO_LEADER", "UNAVAILABLE"]);
const FIRST_PAUSE_MS = 25;
const MAX_PAUSE_MS = 500;

interface Forward {
  /** As the client sent it; it goes to brokers unchanged but for a fresh id per attempt. */
  readonly request: ForwardedRequest;
  readonly reply: Reply;
  readonly done: () => void;
  readonly deadlineTimer: ReturnType<typeof setTimeout>;
  /** Brokers tried in this round; a round ends when every known broker has been tried, and the next waits a little. */
  readonly tried: Set<string>;
  rounds: number;
  /** Where a NOT_LEADER answer said the leader is. */
  hint: string | undefined;
  /** The attempt in flight, if any: its id on the wire and the broker it went to. */
  wireId: number;
  sentTo: string | undefined;
  /** When the attempt in flight was sent (`now()`). */
  sentAt: number;
  pauseTimer: ReturnType<typeof setTimeout> | undefined;
  problem: string;
  /** The client's token: the request goes on a link to the broker opened with it, so the broker checks the user. */
  readonly userToken: string | undefined;
  /** Whether a broker has answered this request at least once (its answer is then the reason kept). */
  answeredBefore?: boolean;
  settled: boolean;
}

/**
 * Sends one-shot requests to the leader on the manager's own connections, with ids of its own, and relays each
 * answer with the client's id. A broker that is not the leader, or cannot be reached, sends the request on to the
 * leader it names or the next broker the reports list, within the request timeout; then the client is answered
 * NO_LEADER (or TIMEOUT when a leader took the request and did not answer). A publish goes with the client's own
 * producer, seq and epoch, or none: an identity the manager made up would be shared by all its clients (a resend
 * behind its dedup window stored twice) and change when the client retries, so it would protect nothing.
 */
export class Forwarder {
  private readonly links = new Map<string, UpstreamLink<Forward>>();
  private readonly active = new Set<Forward>();
  private nextWireId = 0;
  /**
   * The broker that last served a request: between a leader's death and the new leader's first report, the map
   * still names the dead one, and every request would try it first.
   */
  private lastServer: string | undefined;

  constructor(
    private readonly map: ClusterMap,
    private readonly log: Logger,
    private readonly settings: ForwarderSettings,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Requests waiting for an answer. */
  get inFlight(): number {
    return this.active.size;
  }

  /** Forwards `request` (as the client with `userToken`, if any); `reply` gets exactly one answer, then `done` runs. */
  forward(request: ForwardedRequest, reply: Reply, done: () => void, userToken?: string): void {
    const f: Forward = {
      request,
      userToken,
      reply,
      done,
      deadlineTimer: setTimeout(() => this.expire(f), this.settings.requestTimeoutMs),
      tried: new Set(),
      rounds: 0,
      hint: undefined,
      wireId: -1,
      sentTo: undefined,
      sentAt: 0,
      pauseTimer: undefined,
      problem: "no broker has reported to this manager yet",
      settled: false,
    };
    this.active.add(f);
    this.attempt(f);
  }

  /** The reports name a new leader: it goes first again. */
  leaderChanged(): void {
    this.lastServer = undefined;
  }

  /** Closes connections to brokers that are neither the leader nor the last to serve, once nothing waits on them. */
  sweep(): void {
    const keep = new Set([this.map.leaderAt(this.now())?.address, this.lastServer]);
    // a link opened with a client's token serves that client's burst only: many clients must not leave many links
    for (const link of this.links.values())
      if ((!keep.has(link.address) || link.userToken !== undefined) && link.pending === 0) link.close();
  }

  /** Answers every waiting request UNAVAILABLE and closes every connection. */
  stop(): void {
    for (const f of [...this.active]) this.settle(f, this.failure(f, "UNAVAILABLE", "the manager is stopping"));
    for (const link of [...this.links.values()]) link.close();
  }

  private attempt(f: Forward): void {
    if (f.settled) return;
    const target = this.pick(f);
    if (target === undefined) {
      f.tried.clear();
      const pause = Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS * 2 ** Math.min(f.rounds++, 10));
      f.pauseTimer = setTimeout(() => {
        f.pauseTimer = undefined;
        this.attempt(f);
      }, pause);
      return;
    }
    f.tried.add(target);
    f.hint = undefined;
    f.wireId = this.nextWireId++;
    f.sentTo = target;
    f.sentAt = this.now();
    const link = this.link(target, f.userToken);
    if (link instanceof MqraftError) {
      this.log.warn(`Refused to forward ${f.request.type.toUpperCase()}: ${link.message}`);
      return this.settle(f, this.failure(f, link.code, link.message));
    }
    this.log.info(`Forward ${f.request.type.toUpperCase()} to ${target}`);
    link.send({ ...f.request, id: f.wireId }, f);
  }

  /** The leader a refusal named, else the broker that last served, else the next of the reports, not tried in this round. */
  private pick(f: Forward): string | undefined {
    const order = [f.hint, this.lastServer, ...this.map.candidates(this.now())];
    return order.find((address) => address !== undefined && !f.tried.has(address) && isAddress(address));
  }

  private link(address: string, userToken: string | undefined): UpstreamLink<Forward> | MqraftError {
    // by address and token: the token itself is the key's tail only in this process's memory, never logged
    const key = userToken === undefined ? address : `${address} ${userToken}`;
    const existing = this.links.get(key);
    if (existing !== undefined && !existing.isClosed) return existing;
    if (userToken !== undefined) {
      const refused = this.roomForTokenLink(userToken);
      if (refused !== undefined) return refused;
    }
    const link = new UpstreamLink<Forward>(
      address,
      { answer: (f, answer) => this.answered(f, answer), lost: (f, reason) => this.lost(f, reason) },
      {
        connectTimeoutMs: this.settings.connectTimeoutMs,
        maxFrameBytes: this.settings.maxFrameBytes,
        ...(this.settings.auth === undefined ? {} : { auth: this.settings.auth }),
        ...(userToken === undefined ? {} : { userToken }),
      },
      (closed) => {
        if (this.links.get(key) === closed) this.links.delete(key);
      },
    );
    this.links.set(key, link);
    return link;
  }

  /**
   * Every client token in use costs a connection to a broker: a cap per token and one over all of them keep many
   * clients with many tokens from making the manager open connections without bound. At a cap, a link of that
   * token (else of any token) that waits for nothing is closed to make room; when every one is busy, the request is
   * refused with REFUSED, saying which cap.
   */
  private roomForTokenLink(userToken: string): MqraftError | undefined {
    const tokenLinks = [...this.links.entries()].filter(([, l]) => l.userToken !== undefined && !l.isClosed);
    const own = tokenLinks.filter(([, l]) => l.userToken === userToken);
    const { maxLinksPerToken, maxTokenLinks } = this.settings;
    if (own.length >= maxLinksPerToken && !this.closeIdle(own))
      return new MqraftError(
        "REFUSED",
        `this client's token has ${own.length} links to brokers open through this manager, all waiting for answers (at most ${maxLinksPerToken} per token); retry once they are answered, or connect to the brokers directly`,
      );
    if (tokenLinks.length >= maxTokenLinks && !this.closeIdle(tokenLinks))
      return new MqraftError(
        "REFUSED",
        `this manager has ${tokenLinks.length} links open for client tokens, all waiting for answers (at most ${maxTokenLinks}); retry shortly, try another manager, or connect to the brokers directly`,
      );
    return undefined;
  }

  /** Closes the first of `links` that waits for nothing; false when each one does. */
  private closeIdle(links: [string, UpstreamLink<Forward>][]): boolean {
    const idle = links.find(([, l]) => l.pending === 0);
    if (idle === undefined) return false;
    this.links.delete(idle[0]);
    idle[1].close();
    return true;
  }

  private answered(f: Forward, answer: UpstreamAnswer): void {
    if (f.settled || answer.id !== f.wireId) return;
    const from = f.sentTo;
    f.sentTo = undefined;
    if (answer.type === "error" && RETRY_ON.has(answer.code)) {
      if (this.lastServer === from) this.lastServer = undefined;
      f.problem = `${from}: ${answer.code}: ${answer.message}`;
      f.answeredBefore = true;
      if (answer.code === "NOT_LEADER" && answer.leader !== undefined && answer.leader !== from) f.hint = answer.leader;
      this.attempt(f);
      return;
    }
    this.lastServer = from;
    this.settle(f, this.relayed(f, answer));
  }

  private lost(f: Forward, reason: MqraftError): void {
    if (f.settled) return;
    if (reason.code === "UNAUTHENTICATED") return this.settle(f, this.failure(f, "UNAUTHENTICATED", reason.message));
    if (this.lastServer === f.sentTo) this.lastServer = undefined;
    // A broker's own answer (NOT_LEADER, ...) says more than a lost connection, which may be this
    // manager pruning its links: keep the answer as the reason given to the client.
    if (!f.answeredBefore) f.problem = describeError(reason);
    f.sentTo = undefined;
    this.attempt(f);
  }

  private relayed(f: Forward, answer: UpstreamAnswer): UpstreamAnswer {
    return { ...answer, id: f.request.id };
  }

  /**
   * TIMEOUT when a broker has held the request for at least half the timeout without answering; an attempt sent
   * just before the deadline (the retries of a leaderless cluster land there) says nothing about that broker, so the
   * client then learns what the brokers answered instead.
   */
  private expire(f: Forward): void {
    if (f.settled) return;
    const held = this.now() - f.sentAt;
    const answer =
      f.sentTo !== undefined && held * 2 >= this.settings.requestTimeoutMs
        ? this.failure(
            f,
            "TIMEOUT",
            `the leader at ${f.sentTo} took the request and did not answer within ${Math.round(held)} ms`,
          )
        : this.failure(
            f,
            "NO_LEADER",
            `no leader answered within ${this.settings.requestTimeoutMs} ms; last: ${f.problem}`,
          );
    this.settle(f, answer);
  }

  private failure(f: Forward, code: ErrorCode, message: string): UpstreamAnswer {
    return { type: "error", id: f.request.id, code, message };
  }

  private settle(f: Forward, answer: UpstreamAnswer): void {
    f.settled = true;
    clearTimeout(f.deadlineTimer);
    if (f.pauseTimer !== undefined) clearTimeout(f.pauseTimer);
    this.active.delete(f);
    f.reply(answer);
    f.done();
  }
}

function isAddress(address: string): boolean {
  return v.is(AddressSchema, address);
}
