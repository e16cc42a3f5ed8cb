import type { Retention } from "../broker/commands.ts";
import { BrokerState } from "../broker/state-machine.ts";
import { serveBrokerHttp } from "../http/broker-http.ts";
import type { HttpServer } from "../http/http-server.ts";
import {
  bootstrap,
  decodeConfChange,
  type Entry,
  type Message,
  type NodeId,
  RaftNode,
  type Snapshot,
} from "../raft/index.ts";
import { LogStore } from "../storage/log-store.ts";
import { PartsSnapshot } from "../storage/parts-snapshot.ts";
import { describeError, isMqraftError, MqraftError } from "../util/errors.ts";
import { createLogger, type Logger } from "../util/log.ts";
import { createPrng } from "../util/prng.ts";
import {
  type Connection,
  createMessageParser,
  type Listener,
  listen,
  PROTOCOL_VERSION,
  type ServerInbound,
  ServerInboundSchema,
  type Welcome,
} from "../wire/index.ts";
import type { BrokerConfig } from "./broker-config.ts";
import { brokerHttpSource } from "./broker-http-source.ts";
import { ClientSession, type SessionHost } from "./client-session.ts";
import { type FoundingPeers, loadFoundingPeers, saveFoundingPeers } from "./founding-peers.ts";
import { leaderReport, ManagerReporter } from "./manager-reporter.ts";
import { MembershipService } from "./membership-service.ts";
import { nodeFacts } from "./node-facts.ts";
import { PeerNetwork } from "./peer-network.ts";
import { RaftDriver } from "./raft-driver.ts";
import { ReplicatedBroker } from "./replicated-broker.ts";
import { RoleWatcher } from "./role-watcher.ts";
import { nextSnapshotIndex } from "./snapshot-schedule.ts";
import { TransferLogView, unpackTransfer } from "./snapshot-transfer.ts";
import { statusView } from "./status-view.ts";
import { brokerFs, reportSyncedLengths } from "./test-durability.ts";

const ROLE_NAMES = {
  follower: "FOLLOWER",
  preCandidate: "FOLLOWER",
  candidate: "CANDIDATE",
  leader: "LEADER",
} as const;
const defer = (fn: () => void): void => void setImmediate(fn);

/** One broker process: storage, the Raft driver, peer links, the client port and the timers, started and stopped together. */
export class BrokerNode {
  readonly log: Logger;
  /** Settles when the node has stopped, with the error that stopped it (null for a requested stop). */
  readonly stopped: Promise<MqraftError | null>;
  private settleStopped!: (reason: MqraftError | null) => void;
  private driver!: RaftDriver;
  private broker!: ReplicatedBroker;
  private peers!: PeerNetwork;
  private listener: Listener | undefined;
  private ticker: ReturnType<typeof setInterval> | undefined;
  private watcher!: RoleWatcher;
  private peerAddresses = "";
  /** The founding configuration this broker wrote, if it is a founding member (founding-peers.ts). */
  private founding: FoundingPeers;
  private stopping = false;
  private membership!: MembershipService;
  private reporter: ManagerReporter | undefined;
  /** Commit index found on disk at start. */
  private bootCommit = 0;
  private snapshotting = false;
  /** Observability port (--http-port), off when undefined. */
  private http: HttpServer | undefined;

  private constructor(
    readonly config: BrokerConfig,
    private readonly store: LogStore,
  ) {
    this.stopped = new Promise((resolve) => (this.settleStopped = resolve));
    this.log = createLogger(
      () => `Broker ${config.port} ${this.driver ? ROLE_NAMES[this.driver.raft.role] : "FOLLOWER"}`,
    );
  }

  static async start(config: BrokerConfig): Promise<BrokerNode> {
    const store = await LogStore.open({
      fs: brokerFs(),
      dir: config.dataDir,
      maxSegmentBytes: config.segmentBytes,
      repair: config.repair,
    });
    if (store.damage !== undefined) {
      const d = store.damage;
      createLogger(() => `Broker ${config.port} FOLLOWER`).warn(
        `Log repaired: cut at index ${d.fromIndex} (${d.file} byte ${d.offset}: ${d.reason}); this broker will not vote or lead until it holds index ${d.untilIndex} again`,
      );
      const dropped = store.recovery.droppedSnapshot;
      if (dropped !== undefined) {
        createLogger(() => `Broker ${config.port} FOLLOWER`).warn(
          `The snapshot at index ${dropped} was dropped with the entries the repair cut (they held its retained messages): the leader sends them again`,
        );
      }
    }
    reportSyncedLengths(store, config.dataDir);
    const node = new BrokerNode(config, store);
    try {
      await node.boot();
    } catch (e) {
      await node.stop();
      throw e;
    }
    return node;
  }

  private async boot(): Promise<void> {
    const { config, store } = this;
    // A repaired folder may hold no log and no snapshot, but it holds a term and a vote: it is not new.
    const fresh = store.lastIndex() === 0 && store.snapshot() === undefined && store.hardState().term === 0;
    if (fresh && config.peers.length > 0) {
      this.founding = await saveFoundingPeers(config.dataDir, config.peers);
      const addresses = Object.fromEntries(config.peers.map((p) => [String(p.id), p.address]));
      const first = bootstrap({ voters: config.peers.map((p) => p.id), learners: [], addresses });
      store.append(first.entries);
      store.saveHardState(first.hardState);
      await store.sync();
    } else if (!fresh) {
      this.log.info(
        `Recovered ${config.dataDir}: log [${store.firstIndex()}, ${store.lastIndex()}], term ${store.hardState().term}`,
      );
    }
    const snapshot = store.snapshot();
    // A saved commit index beyond the recovered log (a cut torn tail, a repaired log) is not
    // fatal: commit is volatile in Raft, and the leader tells this node again.
    const saved = store.hardState();
    const hardState = { ...saved, commit: Math.min(saved.commit, store.lastIndex()) };
    this.bootCommit = hardState.commit;
    const seed = crypto.getRandomValues(new Uint32Array(1))[0] as number;
    const raft = new RaftNode(
      {
        id: config.id,
        prng: createPrng(seed),
        electionTicks: Math.max(3, Math.round(config.electionMs / config.heartbeatMs)),
        heartbeatTicks: 1,
      },
      new TransferLogView(store),
      hardState,
    );
    this.broker = new ReplicatedBroker(
      () => this.driver,
      (index) => this.readEntry(index),
      Date.now,
      defer,
      retentionOf(config),
      (e) => this.configApplied(e),
    );
    if (snapshot !== undefined) this.broker.state = BrokerState.restore(snapshot.data);
    this.founding ??= loadFoundingPeers(config.dataDir);
    this.peers = new PeerNetwork(config.id, (m) => this.driver.step(m), this.log, config.maxFrameBytes, this.founding);
    this.driver = new RaftDriver(
      raft,
      store,
      {
        send: (messages) => {
          this.peers.send(this.store.damage === undefined ? messages : messages.filter(mayLeadOrVote));
          this.watcher.check();
        },
        apply: (entries) => this.broker.apply(entries),
        advanced: () => this.maybeSnapshot(),
        installSnapshot: (snap) => this.installSnapshot(snap),
        fatal: (e) => {
          this.log.error(`Stopping: cannot persist the log: ${describeError(e)}`);
          void this.stop(new MqraftError("INTERNAL", describeError(e)));
        },
      },
      hardState,
      defer,
    );
    this.watcher = new RoleWatcher(raft, this.log, (id) => this.addressOf(id));
    this.membership = new MembershipService(
      () => this.driver,
      this.broker.pending,
      this.log,
      config.electionMs,
      (id) => this.peers.isConnected(id),
    );
    const sessionHost: SessionHost = {
      broker: this.broker,
      membership: this.membership,
      isLeader: () => this.driver.raft.role === "leader",
      log: this.log,
      welcome: () => this.welcome(),
      leaderAddress: () => {
        const leader = this.driver.raft.leader;
        return leader === 0 ? undefined : this.addressOf(leader);
      },
      status: () => ({
        ...statusView(this.driver.raft.status(), this.config.id, nodeFacts(this.config.dataDir)),
        ...this.observability(),
      }),
      now: Date.now,
      adoptPeer: (id, connection) => this.peers.adopt(id, connection),
      founding: this.founding,
      peerMessage: (m) => this.peers.receive(m),
    };
    this.syncPeers();
    this.listener = listen({
      host: config.host,
      port: config.port,
      maxFrameBytes: config.maxFrameBytes,
      // publishes go into the log within the turn (PublishBatcher): their payloads need not be copied first
      publishViews: true,
      parse: createMessageParser(ServerInboundSchema),
      onConnection: (c: Connection<ServerInbound, unknown>) => new ClientSession(sessionHost, c),
    });
    if (config.httpPort !== 0) this.serveHttp();
    if (config.managers.length > 0) {
      this.reporter = new ManagerReporter(
        config.managers,
        config.id,
        () => leaderReport(this.driver.raft.status()),
        this.log,
      );
      this.reporter.start();
    }
    this.ticker = setInterval(() => {
      this.driver.tick();
      this.watcher.check();
      this.syncPeers();
      this.membership.promoteCaughtUpLearners();
      this.membership.removeDeadMembers(config.removeDeadAfterMs, performance.now());
    }, config.heartbeatMs);
    this.log.info(`Running on ${config.advertise}`);
  }

  /** What a status reply adds for dashboards (cluster-collector.ts): where this broker's /metrics is. */
  private observability(): { httpPort?: number } {
    return this.http === undefined ? {} : { httpPort: this.http.port };
  }

  /** /metrics, /healthz, /readyz and /status: they read this node's state when asked. */
  private serveHttp(): void {
    const { config } = this;
    const source = brokerHttpSource({
      id: config.id,
      raft: () => this.driver.raft,
      broker: () => this.broker,
      watcher: () => this.watcher,
      listener: () => this.listener,
      store: this.store,
    });
    this.http = serveBrokerHttp({ host: config.host, port: config.httpPort, readyLag: config.readyLag, source });
    this.log.info(`HTTP on ${this.http.url} (/metrics, /healthz, /readyz, /status)`);
  }

  private welcome(): Welcome {
    const { membership, leader } = this.driver.raft;
    const members = [
      ...membership.voters.map((id) => ({ id, voter: true })),
      ...membership.learners.map((id) => ({ id, voter: false })),
    ].map((m) => ({ ...m, address: membership.addresses[String(m.id)] ?? "" }));
    const welcome: Welcome = {
      type: "welcome",
      version: PROTOCOL_VERSION,
      nodeId: this.config.id,
      maxFrameBytes: this.config.maxFrameBytes,
      members,
    };
    if (leader !== 0) welcome.leader = leader;
    return welcome;
  }

  /** Resolves once the entries committed before this start are applied again (the configuration is then known). */
  async replayed(timeoutMs = 5_000): Promise<void> {
    const deadline = performance.now() + timeoutMs;
    while (this.driver.raft.appliedIndex < this.bootCommit && performance.now() < deadline) await Bun.sleep(5);
  }

  /** The members ("id=host:port") this broker's own log or snapshot knows of; empty for a new data folder. */
  get knownMembers(): string[] {
    const { voters, learners, addresses } = this.driver.raft.membership;
    return [...voters, ...learners].map((id) => `${id}=${addresses[String(id)] ?? ""}`);
  }

  /** Set by `mqraft join` while it asks to be added again: an old removal in the replayed log is then not the end. */
  rejoining = false;

  /** Whether this broker's applied configuration counts it as a voter or learner. */
  get isMember(): boolean {
    const { voters, learners } = this.driver.raft.membership;
    return voters.includes(this.config.id) || learners.includes(this.config.id);
  }

  addressOf(id: NodeId): string {
    return this.driver.raft.membership.addresses[String(id)] ?? `node ${id}`;
  }

  private readEntry(index: number): Uint8Array | undefined {
    if (index < this.store.firstIndex() || index > this.store.lastIndex()) return undefined;
    return this.store.entries(index, index + 1)[0]?.data;
  }

  /** A snapshot from the leader: the state machine's bytes plus the log entries that still hold retained messages. */
  private async installSnapshot(snapshot: Snapshot): Promise<void> {
    const transfer = unpackTransfer(snapshot.data);
    const state: Snapshot = { meta: snapshot.meta, data: transfer.state };
    await this.store.installSnapshot(state, { prevTerm: transfer.prevTerm, entries: transfer.entries });
    this.broker.restore(state);
    this.log.info(
      `Sync data with peer: installed the leader's snapshot at index ${snapshot.meta.index} with ${transfer.entries.length} retained log entries`,
    );
  }

  /**
   * Saves a snapshot of the state machine every so many applied entries (so a restart replays
   * little), at indexes of this broker's own (snapshot-schedule.ts), and drops log segments that no
   * longer hold a retained message.
   */
  private maybeSnapshot(): void {
    const raft = this.driver.raft;
    const applied = raft.appliedIndex;
    const current = this.store.snapshot()?.meta.index ?? 0;
    if (this.snapshotting || applied < nextSnapshotIndex(current, this.config.snapshotEvery, this.config.id)) return;
    this.snapshotting = true;
    const snapshot = new PartsSnapshot(raft.compact(applied), this.broker.state.snapshotParts());
    // Taken with the snapshot: by the time it is saved the state has applied more, and retention may
    // have dropped messages that this snapshot still retains (found by the driver simulation).
    const lowest = this.broker.state.lowestNeededIndex() ?? applied + 1;
    this.store
      .saveSnapshot(snapshot)
      .then(() => {
        this.store.compactPrefix(Math.min(applied, lowest - 1));
        this.log.debug(`Snapshot at index ${applied}; the log now starts at ${this.store.firstIndex()}`);
      })
      .catch((e) => this.log.warn(`Snapshot at index ${applied} failed: ${describeError(e)}`))
      .finally(() => {
        this.snapshotting = false;
      });
  }

  private configApplied(entry: Entry): void {
    const cc = decodeConfChange(entry.data);
    // Term 1 holds the founding configuration every new cluster writes; it is not news.
    if (entry.term === 1) this.log.debug(`Founding member: ${JSON.stringify(cc)}`);
    else if (cc.op === "addLearner")
      this.log.info(`New node joins the cluster: node ${cc.id} at ${cc.address} (learner)`);
    else if (cc.op === "promote") this.log.info(`Node ${cc.id} is now a voter`);
    else this.log.info(`Node ${cc.id} left the cluster`);
    // A removal of this broker may be old history that a rejoin replays before its new addLearner:
    // decide only once the entries that follow have been applied.
    if (cc.op === "remove" && cc.id === this.config.id) this.stopIfStillRemoved();
  }

  /**
   * Stops once the removal of this broker is the last word: it is not a member and has applied everything it was told
   * is committed. A rejoin that replays a long log still has its new addLearner to come, however long that takes.
   */
  private stopIfStillRemoved(): void {
    setTimeout(() => {
      const raft = this.driver.raft;
      if (this.isMember || this.stopping) return;
      if (this.rejoining || raft.appliedIndex < raft.commitIndex) return this.stopIfStillRemoved();
      this.log.info('Removed from the cluster; stopping (use "mqraft join" to come back)');
      void this.stop();
    }, this.config.electionMs);
  }

  /** Moves leadership to the most up-to-date other voter before a planned stop, so that publishing pauses only briefly. */
  async handOffLeadership(): Promise<void> {
    const raft = this.driver?.raft;
    if (raft === undefined || raft.role !== "leader") return;
    const candidates = raft
      .status()
      .peers.filter((p) => !p.learner && p.reachable)
      .sort((a, b) => b.match - a.match);
    const to = candidates[0];
    if (to === undefined) return;
    this.log.info(`Stopping: handing leadership to ${this.addressOf(to.id)}`);
    await this.membership.transfer(to.id).catch((e) => {
      // the whole cluster stopping at once (mqraft up, Ctrl-C): the heir stops too, nothing went wrong
      if (isMqraftError(e, "UNAVAILABLE")) this.log.info(`Leadership not handed over: ${describeError(e)}`);
      else this.log.warn(`Leadership transfer failed: ${describeError(e)}`);
    });
  }

  /** Keeps the peer links in line with the applied configuration (a join adds an address). */
  private syncPeers(): void {
    const { addresses } = this.driver.raft.membership;
    const key = JSON.stringify(addresses);
    if (key === this.peerAddresses) return;
    this.peerAddresses = key;
    this.peers.setPeers(new Map(Object.entries(addresses).map(([id, address]) => [Number(id), address])));
  }

  async stop(reason: MqraftError | null = null): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.ticker !== undefined) clearInterval(this.ticker);
    this.listener?.stop();
    this.http?.stop();
    this.reporter?.stop();
    this.peers?.stop();
    this.driver?.stop();
    this.broker?.pending.failAll(new MqraftError("UNAVAILABLE", "the broker is stopping"));
    await this.store.close().catch(() => {});
    this.settleStopped(reason);
  }
}

/**
 * A repaired log may have lost entries this broker had acknowledged, so until it has caught up it
 * must not help elect anyone (its vote could favour a log missing them) nor campaign: its vote
 * requests and vote grants are not sent. Refusals and everything else still go out.
 */
function mayLeadOrVote(m: Message): boolean {
  if (m.type === "vote" || m.type === "preVote") return false;
  if (m.type === "voteResponse" || m.type === "preVoteResponse") return m.reject;
  return true;
}

function retentionOf(config: BrokerConfig): Retention {
  const r: Retention = {};
  if (config.retention.maxMessages !== undefined) r.maxMessages = config.retention.maxMessages;
  if (config.retention.maxBytes !== undefined) r.maxBytes = config.retention.maxBytes;
  if (config.retention.maxAgeMs !== undefined) r.maxAgeMs = config.retention.maxAgeMs;
  return r;
}
