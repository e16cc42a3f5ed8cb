import { splitAddress } from "../util/config-values.ts";
import { describeError, type ErrorCode, isMqraftError, MqraftError } from "../util/errors.ts";
import {
  type ClientInbound,
  ClientInboundSchema,
  type Connection,
  connect,
  createMessageParser,
  type Hello,
  PROTOCOL_VERSION,
  type ReadIndexRequest,
} from "../wire/index.ts";

/** What the read index needs of the Raft core. */
export interface RaftView {
  readonly role: string;
  readonly term: number;
  readonly commitIndex: number;
  readonly appliedIndex: number;
  termAt(index: number): number | undefined;
}

const parse = createMessageParser(ClientInboundSchema);
/** Failures an election explains: ask again (the leader may have changed). */
const RETRY_ON: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "NO_LEADER",
  "NOT_LEADER",
  "UNAVAILABLE",
  "CONNECTION_CLOSED",
  "TIMEOUT",
]);
/** How long a subscribe may wait to learn the commit index through an election. */
const COMMIT_INDEX_DEADLINE_MS = 5_000;
const RETRY_FIRST_MS = 20;
const RETRY_MAX_MS = 200;

/**
 * The leader's answer to a read-index request: its commit index, once it has committed an entry of
 * its own term (before that, its commit index may lag what its predecessor committed). A leader cut
 * off from its majority may answer until check-quorum makes it step down (one election timeout).
 */
export function leaderReadIndex(raft: RaftView): number {
  if (raft.role !== "leader") throw new MqraftError("NOT_LEADER", "this broker is not the leader");
  if (raft.termAt(raft.commitIndex) !== raft.term) {
    throw new MqraftError("UNAVAILABLE", `the leader has not committed an entry of term ${raft.term} yet; retry`);
  }
  return raft.commitIndex;
}

/**
 * The cluster's commit index as the leader knows it now, for a broker that must serve "everything
 * committed" (a drain's ends, `--from latest`): the leader answers for itself; a follower asks the
 * leader over one client connection that it keeps open while the leader stays the same.
 */
export class ReadIndex {
  private link:
    | { address: string; connection: Promise<Connection<ClientInbound, Hello | ReadIndexRequest>> }
    | undefined;
  private readonly waiting = new Map<number, { resolve: (index: number) => void; reject: (e: unknown) => void }>();
  private nextId = 0;
  private stopped = false;

  constructor(
    private readonly raft: () => RaftView,
    /** "host:port" of the leader, when one is known. */
    private readonly leaderAddress: () => string | undefined,
    private readonly timeoutMs: number,
  ) {}

  /** This broker's answer to a read-index request (it must be the leader). */
  answer(): number {
    return leaderReadIndex(this.raft());
  }

  /** Entries this broker has applied (the core's count, configuration entries included). */
  get appliedIndex(): number {
    return this.raft().appliedIndex;
  }

  /**
   * Resolves with the leader's commit index. Through an election (no leader known, a dead leader's
   * address, a broker that is no longer the leader) it asks again for up to 5 s, then
   * rejects with UNAVAILABLE naming the last failure.
   */
  async commitIndex(): Promise<number> {
    const deadline = performance.now() + COMMIT_INDEX_DEADLINE_MS;
    for (let pause = RETRY_FIRST_MS; ; pause = Math.min(pause * 2, RETRY_MAX_MS)) {
      try {
        return await this.askOnce();
      } catch (e) {
        if (this.stopped || !isMqraftError(e) || !RETRY_ON.has(e.code) || performance.now() + pause > deadline) {
          throw new MqraftError("UNAVAILABLE", `cannot learn the cluster's commit index: ${describeError(e)}`);
        }
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  }

  /** One attempt: this broker's own index as leader, or the leader's answer. */
  private async askOnce(): Promise<number> {
    const raft = this.raft();
    if (raft.role === "leader") return leaderReadIndex(raft);
    const address = this.leaderAddress();
    if (address === undefined || this.stopped) throw new MqraftError("NO_LEADER", "no leader is known to this broker");
    const connection = await this.open(address);
    const id = this.nextId++;
    const { promise, resolve, reject } = Promise.withResolvers<number>();
    const timer = setTimeout(() => {
      this.waiting.delete(id);
      reject(new MqraftError("TIMEOUT", `the leader at ${address} did not tell its commit index in time`));
    }, this.timeoutMs);
    this.waiting.set(id, {
      resolve: (index) => {
        clearTimeout(timer);
        resolve(index);
      },
      reject: (e) => {
        clearTimeout(timer);
        reject(e);
      },
    });
    if (!connection.send({ type: "readIndex", id })) {
      this.settle(id, new MqraftError("UNAVAILABLE", `the connection to the leader at ${address} is closing`));
    }
    return promise;
  }

  stop(): void {
    this.stopped = true;
    this.drop(new MqraftError("UNAVAILABLE", "the broker is stopping"));
  }

  private open(address: string): Promise<Connection<ClientInbound, Hello | ReadIndexRequest>> {
    if (this.link?.address === address) return this.link.connection;
    this.drop(new MqraftError("NOT_LEADER", `the leader moved to ${address}`));
    const { host, port } = splitAddress(address);
    const connection = connect<ClientInbound, Hello | ReadIndexRequest>({ host, port, parse }).then((c) => {
      c.onMessage = (m) => this.receive(m);
      c.onClose = (reason) => {
        // a link already dropped failed its requests then; the ones waiting now belong to the next
        if (this.link?.connection !== connection) return;
        this.link = undefined;
        this.failAll(reason ?? new MqraftError("CONNECTION_CLOSED", `the leader at ${address} closed the connection`));
      };
      c.send({ type: "hello", version: PROTOCOL_VERSION, role: "client" });
      return c;
    });
    this.link = { address, connection };
    connection.catch(() => {
      if (this.link?.connection === connection) this.link = undefined;
    });
    return connection;
  }

  private receive(m: ClientInbound): void {
    if (m.type === "readIndex") this.settle(m.id, m.index);
    else if (m.type === "error" && m.id !== undefined) {
      this.settle(m.id, new MqraftError(m.code, `the leader: ${m.message}`));
    } else if (m.type === "error") {
      this.failAll(new MqraftError("UNAVAILABLE", `the leader refused the connection: ${m.code}: ${m.message}`));
    }
  }

  private settle(id: number, outcome: number | MqraftError): void {
    const w = this.waiting.get(id);
    if (w === undefined) return;
    this.waiting.delete(id);
    if (typeof outcome === "number") w.resolve(outcome);
    else w.reject(outcome);
  }

  private drop(reason: MqraftError): void {
    const link = this.link;
    this.link = undefined;
    link?.connection.then(
      (c) => c.close(),
      () => {},
    );
    this.failAll(reason);
  }

  private failAll(reason: unknown): void {
    const error = isMqraftError(reason) ? reason : new MqraftError("UNAVAILABLE", describeError(reason));
    for (const w of this.waiting.values()) w.reject(error);
    this.waiting.clear();
  }
}
