import { MqraftError } from "../util/errors.ts";
import type { Welcome } from "../wire/index.ts";
import { isFatal } from "./client-errors.ts";
import { backoffMs, now, remaining, sleep } from "./deadline.ts";
import { type ChannelOptions, openChannel } from "./open-channel.ts";
import type { RequestChannel } from "./request-channel.ts";

/** A broker serves requests; a directory (a manager) only tells where the brokers are. */
type Kind = "unknown" | "broker" | "directory";

interface Server {
  kind: Kind;
  /** When a connection to it last failed or it last turned a request away: such servers are tried last. */
  demotedAt: number;
}

/**
 * The servers a client knows: the addresses it was given, plus every broker that a welcome or a status answer named.
 * Opens handshaken channels, preferring brokers over directories and servers that have not failed recently, so
 * that after losing a broker the next attempt goes to another one.
 */
export class ServerPool {
  private readonly servers = new Map<string, Server>();
  private readonly addressById = new Map<number, string>();
  private spare: RequestChannel | undefined;
  private closed = false;

  constructor(
    seeds: readonly string[],
    private readonly connectTimeoutMs: number,
    private readonly channelOptions: ChannelOptions = {},
  ) {
    for (const address of seeds) this.servers.set(address, { kind: "unknown", demotedAt: Number.NEGATIVE_INFINITY });
  }

  addressOf(id: number): string | undefined {
    return this.addressById.get(id);
  }

  /** Addresses to try, best first; `first`, when given, leads. */
  candidates(first?: string): string[] {
    const rank = (kind: Kind): number => (kind === "directory" ? 1 : 0);
    const ordered = [...this.servers.entries()]
      .map(([address, server], position) => ({ address, server, position }))
      .sort(
        (a, b) =>
          rank(a.server.kind) - rank(b.server.kind) ||
          a.server.demotedAt - b.server.demotedAt ||
          a.position - b.position,
      )
      .map((entry) => entry.address);
    return first === undefined ? ordered : [first, ...ordered.filter((address) => address !== first)];
  }

  /** Moves `address` to the back of the queue: it failed or turned a request away. */
  demote(address: string): void {
    const server = this.servers.get(address);
    if (server !== undefined) server.demotedAt = now();
  }

  /** Learns brokers from a status answer or a welcome's member list. */
  learnMembers(members: readonly { id: number; address: string }[]): void {
    for (const { id, address } of members) {
      this.addressById.set(id, address);
      const server = this.servers.get(address);
      if (server === undefined) this.servers.set(address, { kind: "broker", demotedAt: Number.NEGATIVE_INFINITY });
      else server.kind = "broker";
    }
  }

  /** Keeps an open channel for whoever next opens its address, so that `connect()`'s first contact is not wasted. */
  keepSpare(channel: RequestChannel): void {
    this.spare?.close();
    this.spare = channel;
  }

  /** Opens a channel to one address, within the connect timeout; a failure demotes the address. */
  async open(address: string, deadline: number): Promise<RequestChannel> {
    if (this.closed) throw clientClosed();
    const spare = this.spare;
    if (spare !== undefined && spare.address === address) {
      this.spare = undefined;
      if (spare.isOpen) return spare;
    }
    let channel: RequestChannel;
    try {
      channel = await openChannel(address, Math.min(deadline, now() + this.connectTimeoutMs), this.channelOptions);
    } catch (e) {
      this.demote(address);
      throw e;
    }
    if (this.closed) {
      channel.close();
      throw clientClosed();
    }
    this.learnWelcome(address, channel.welcome);
    return channel;
  }

  /**
   * Opens a channel to some broker, trying `first` (if given) and then every known server, round after round with a
   * growing pause, until `deadline`. Directories are asked for the members and then left. Rejects with UNAVAILABLE
   * naming the last failure.
   */
  async openBroker(deadline: number, first?: string, giveUpAfterMs?: number): Promise<RequestChannel> {
    let lastError: unknown;
    const start = now();
    for (let round = 0; ; round++) {
      const known = this.servers.size;
      let allDefinite = true;
      for (const address of this.candidates(round === 0 ? first : undefined)) {
        if (remaining(deadline) === 0) break;
        try {
          const channel = await this.open(address, deadline);
          if (channel.welcome.nodeId !== undefined) return channel;
          allDefinite = false;
          channel.close();
        } catch (e) {
          // a refused token is refused by every broker of the cluster: trying the others until the deadline is a hang
          if (this.closed || isFatal(e)) throw e;
          lastError = e;
          if (!isDefiniteFailure(e)) allDefinite = false;
        }
      }
      // every server refused or has a name that does not resolve: waiting longer is unlikely to change that
      if (giveUpAfterMs !== undefined && allDefinite && lastError !== undefined && now() - start >= giveUpAfterMs) {
        throw new MqraftError("UNAVAILABLE", `no broker reachable: ${(lastError as Error).message}`, {
          cause: lastError,
        });
      }
      if (remaining(deadline) === 0) {
        if (lastError === undefined) throw new MqraftError("TIMEOUT", "no time left to reach a broker");
        const why = lastError instanceof Error ? `; last error: ${lastError.message}` : "";
        throw new MqraftError("UNAVAILABLE", `no broker reachable at ${this.candidates().join(", ")}${why}`, {
          cause: lastError,
        });
      }
      // a directory that just named new brokers deserves an immediate second round; failures get a pause
      if (this.servers.size === known) await sleep(Math.min(remaining(deadline), backoffMs(round)));
    }
  }

  close(): void {
    this.closed = true;
    this.spare?.close();
    this.spare = undefined;
  }

  private learnWelcome(address: string, welcome: Welcome): void {
    const server = this.servers.get(address) ?? { kind: "unknown", demotedAt: Number.NEGATIVE_INFINITY };
    this.servers.set(address, server);
    server.kind = welcome.nodeId === undefined ? "directory" : "broker";
    if (welcome.nodeId !== undefined && !this.addressById.has(welcome.nodeId))
      this.addressById.set(welcome.nodeId, address);
    if (welcome.members !== undefined) this.learnMembers(welcome.members);
  }
}

export function clientClosed(): MqraftError {
  return new MqraftError("CONNECTION_CLOSED", "the client was closed");
}

/** Nobody listens there, or the name does not resolve: known at once, unlike a host that drops packets. */
function isDefiniteFailure(e: unknown): boolean {
  const cause = (e as { cause?: { code?: unknown } } | undefined)?.cause?.code;
  return cause === "ECONNREFUSED" || cause === "ENOTFOUND" || cause === "EAI_AGAIN" || cause === "EAI_NONAME";
}
