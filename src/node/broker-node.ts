import { type ClientAuth, loadClientAuth, warnIfOpen } from "../auth/client-auth.ts";
import { loadClusterAuth } from "../auth/cluster-auth.ts";
import type { ClusterAuth } from "../auth/peer-handshake.ts";
import { loadTls, tlsWithoutCaWarning } from "../auth/tls-files.ts";
import { verifyNodeAt } from "../auth/verify-node.ts";
import type { Retention } from "../broker/commands.ts";
import type { NodeId } from "../raft/index.ts";
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
  type ServerTls,
  setDialTls,
  type Welcome,
} from "../wire/index.ts";
import { type AssemblyOptions, BrokerAssembly } from "./broker-assembly.ts";
import type { BrokerConfig } from "./broker-config.ts";
import { BrokerObservability } from "./broker-observability.ts";
import { ClientSession, type SessionHost } from "./client-session.ts";
import { realClock } from "./clock.ts";
import { DiskFullReopen } from "./disk-full-reopen.ts";
import { type FoundingPeers, loadFoundingPeers, saveFoundingPeers } from "./founding-peers.ts";
import { statfsProbe } from "./free-space.ts";
import { type MembersView, runningCluster } from "./fresh-folder-guard.ts";
import type { MembershipService } from "./membership-service.ts";
import { nodeFacts } from "./node-facts.ts";
import { PeerNetwork } from "./peer-network.ts";
import type { RaftDriver } from "./raft-driver.ts";
import { ReadIndex } from "./read-index.ts";
import type { ReplicatedBroker } from "./replicated-broker.ts";
import { SnapshotSaves } from "./snapshot-save.ts";
import { statusView } from "./status-view.ts";
import { testDisk } from "./test-disk.ts";
import { brokerFs, reportSyncedLengths } from "./test-durability.ts";

const ROLE_NAMES = {
  follower: "FOLLOWER",
  preCandidate: "FOLLOWER",
  candidate: "CANDIDATE",
  leader: "LEADER",
} as const;

/**
 * One broker process: the broker assembly (store, Raft core, driver, state machine, snapshots) on the
 * real disk and clock, plus what only a process has: the peer links, the client port, the manager
 * reports and the membership service, started and stopped together.
 */
export class BrokerNode {
  readonly log: Logger;
  /** Settles when the node has stopped, with the error that stopped it (null for a requested stop). */
  readonly stopped: Promise<MqraftError | null>;
  private settleStopped!: (reason: MqraftError | null) => void;
  private assembly!: BrokerAssembly;
  /** Opens the assembly again, with the options it was opened with, after a write failed with ENOSPC. */
  private reopener!: DiskFullReopen;
  private peers!: PeerNetwork;
  /** The replicated-command version each peer's hello said it applies (the leader's command gate). */
  private readonly peerCommands = new Map<number, number>();
  private listener: Listener | undefined;
  private peerAddresses = "";
  /** The founding configuration this broker wrote, if it is a founding member (founding-peers.ts). */
  private founding: FoundingPeers;
  private stopping = false;
  /** The HTTP port and the manager reports. */
  private observability: BrokerObservability | undefined;
  /** The leader's commit index for subscriptions that must see everything committed (read-index.ts). */
  private readonly readIndex: ReadIndex;
  /** The cluster secret's handshake, with --cluster-secret-file (docs/security.md). */
  private readonly auth: ClusterAuth | undefined;
  /** Client tokens and permissions against the replicated users (docs/security.md). */
  private readonly clientAuth: ClientAuth;
  /** TLS on this broker's port, with --tls-cert and --tls-key. */
  private serverTls: ServerTls | undefined;

  private constructor(readonly config: BrokerConfig) {
    this.stopped = new Promise((resolve) => (this.settleStopped = resolve));
    this.readIndex = new ReadIndex(
      () => this.driver.raft,
      () => {
        const leader = this.driver.raft.leader;
        return leader === 0 || leader === config.id ? undefined : this.driver.raft.membership.addresses[String(leader)];
      },
      config.electionMs * 2,
    );
    this.log = createLogger(
      () => `Broker ${config.port} ${this.assembly ? ROLE_NAMES[this.assembly.raft.role] : "FOLLOWER"}`,
    );
    this.auth = loadClusterAuth(config.clusterSecretFile, config.host, this.log, config.previousClusterSecretFile);
    this.clientAuth = loadClientAuth(config.adminTokenFile, () => this.broker.state.users);
    const tls = loadTls(config.tls);
    this.serverTls = tls.server;
    // every link this process dials (peers, managers, the leader's read index, a joiner to verify) uses it
    setDialTls(tls.client);
    const warning = tlsWithoutCaWarning(config.tls);
    if (warning !== undefined) this.log.warn(warning);
  }

  /**
   * Opens the data folder and starts serving. `askMembers`: how a broker on an empty folder learns whether its cluster
   * already runs (src/node/fresh-folder-guard.ts); without it, it founds or joins as on a first start.
   */
  static async start(config: BrokerConfig, askMembers?: () => Promise<MembersView | undefined>): Promise<BrokerNode> {
    const node = new BrokerNode(config);
    const fs = brokerFs();
    const testDiskOf = testDisk(config.dataDir, fs);
    const options: AssemblyOptions = {
      id: config.id,
      fs: testDiskOf?.fs ?? fs,
      dataDir: config.dataDir,
      clock: realClock,
      transport: { send: (messages) => node.peers.send(messages), isConnected: (id) => node.peers.isConnected(id) },
      prng: createPrng(crypto.getRandomValues(new Uint32Array(1))[0] as number),
      log: node.log,
      founders: config.peers,
      askCluster: async () => runningCluster(config.id, await askMembers?.(), node.log),
      beforeFounding: async () => {
        node.founding = await saveFoundingPeers(config.dataDir, config.peers);
      },
      heartbeatMs: config.heartbeatMs,
      raft: { electionTicks: Math.max(3, Math.round(config.electionMs / config.heartbeatMs)), heartbeatTicks: 1 },
      segmentBytes: config.segmentBytes,
      repair: config.repair,
      snapshotEvery: config.snapshotEvery,
      maxSnapshotBytes: config.maxSnapshotBytes,
      retention: retentionOf(config),
      removed: () => void node.stop(),
      ...(config.removeDeadAfterMs === undefined ? {} : { removeDeadAfterMs: config.removeDeadAfterMs }),
      fatal: (e) => void node.stop(e),
      diskFull: () => void node.reopener.reopen(),
      peerCommandVersion: (id) => node.peerCommands.get(id),
      onTick: () => node.onTick(),
      freeSpace: testDiskOf?.probe ?? statfsProbe(config.dataDir),
      ...(config.minFreeBytes === undefined ? {} : { minFreeBytes: config.minFreeBytes }),
    };
    node.assembly = await BrokerAssembly.open(options);
    reportSyncedLengths(node.assembly.store, config.dataDir);
    node.reopener = new DiskFullReopen({
      options,
      current: () => node.assembly,
      replace: (next) => {
        node.assembly = next;
        reportSyncedLengths(next.store, config.dataDir);
      },
      stopping: () => node.stopping,
      stop: (e) => node.stop(e),
      log: node.log,
    });
    try {
      node.boot();
    } catch (e) {
      await node.stop();
      throw e;
    }
    return node;
  }

  private get driver(): RaftDriver {
    return this.assembly.driver;
  }

  private get membership(): MembershipService {
    return this.assembly.membership.service;
  }

  private get broker(): ReplicatedBroker {
    return this.assembly.broker;
  }

  private boot(): void {
    const { config } = this;
    this.founding ??= loadFoundingPeers(config.dataDir);
    this.peers = new PeerNetwork(
      config.id,
      (m) => this.assembly.receive(m),
      this.log,
      config.maxFrameBytes,
      this.founding,
      this.auth,
    );
    const { auth } = this;
    const node = this;
    const sessionHost: SessionHost = {
      // the assembly's, whichever is current (reopen())
      get broker() {
        return node.broker;
      },
      get membership() {
        return node.membership;
      },
      isLeader: () => this.driver.raft.role === "leader",
      log: this.log,
      welcome: () => this.welcome(),
      leaderAddress: () => {
        const leader = this.driver.raft.leader;
        return leader === 0 ? undefined : this.addressOf(leader);
      },
      status: () => ({
        ...statusView(this.driver.raft.status(), this.config.id, {
          ...nodeFacts(this.config.dataDir),
          ...this.diskFacts(),
        }),
        ...this.observability?.statusFields(),
      }),
      now: () => this.assembly.commandTime(),
      adoptPeer: (id, connection, lane, commands) => {
        // a broker from before command versions says nothing: it applies version 1
        this.peerCommands.set(id, commands ?? 1);
        this.peers.adopt(id, connection, lane);
      },
      founding: this.founding,
      peerMessage: (m) => this.peers.receive(m),
      readIndex: this.readIndex,
      snapshotSaves: new SnapshotSaves(() => this.assembly),
      nodeId: config.id,
      helloTimeoutMs: config.helloTimeoutMs,
      clientAuth: this.clientAuth,
      ...(auth === undefined
        ? {}
        : {
            clusterAuth: auth,
            verifyJoiner: (id: number, address: string) => verifyNodeAt(auth, config.id, id, address),
          }),
    };
    this.syncPeers();
    this.listener = listen({
      host: config.host,
      port: config.port,
      maxFrameBytes: config.maxFrameBytes,
      // publishes go into the log within the turn (PublishBatcher): their payloads need not be copied first
      publishViews: true,
      parse: createMessageParser(ServerInboundSchema),
      maxQueuedBytes: config.maxPendingBytes,
      ...(this.serverTls === undefined ? {} : { tls: this.serverTls }),
      onHandshakeFailed: (e) => this.log.debug(`A TLS handshake failed: ${e.message}`),
      handshakeTimeoutMs: config.helloTimeoutMs,
      onConnection: (c: Connection<ServerInbound, unknown>) => this.accept(c, sessionHost),
    });
    this.observability = new BrokerObservability(
      config,
      () => this.assembly,
      () => this.listener,
      this.log,
      auth,
      () => this.peers,
    );
    this.observability.start(this.serverTls);
    this.assembly.start();
    this.log.info(`Running on ${config.advertise}`);
    warnIfOpen(this.clientAuth, config.host, this.log);
  }

  /**
   * SIGHUP: reads the TLS files again. New connections, accepted and dialed, use them; open ones go on. A file that
   * cannot be read leaves the TLS in force as it was, and says why.
   */
  reloadTls(): void {
    try {
      const tls = loadTls(this.config.tls);
      if ((tls.server === undefined) !== (this.serverTls === undefined))
        throw new MqraftError("BAD_CONFIG", "TLS can be renewed, not turned on or off, without a restart");
      setDialTls(tls.client);
      if (tls.server !== undefined) this.listener?.reloadTls(tls.server);
      if (tls.server !== undefined) this.observability?.reloadTls(tls.server);
      this.serverTls = tls.server;
      this.log.info("Reloaded the TLS certificate files");
    } catch (e) {
      this.log.error(`Could not reload the TLS files, keeping the ones in force: ${describeError(e)}`);
    }
  }

  /** A new connection, unless --max-connections are open (this one counted); the refused one is told why. */
  private accept(connection: Connection<ServerInbound, unknown>, host: SessionHost): void {
    const open = this.listener?.connections ?? 0;
    if (open > this.config.maxConnections) {
      connection.close(
        new MqraftError(
          "REFUSED",
          `this broker has ${this.config.maxConnections} connections open (--max-connections); try again later or another broker`,
        ),
      );
      return;
    }
    this.reopener.track(connection);
    new ClientSession(host, connection);
  }

  /** The disk alarm's state for this broker's own status row. */
  private diskFacts(): { diskFreeBytes?: number; diskAlarm?: boolean } {
    const alarm = this.assembly.diskAlarm;
    if (alarm === undefined) return {};
    return alarm.space === undefined
      ? { diskAlarm: alarm.raised }
      : { diskAlarm: alarm.raised, diskFreeBytes: alarm.space.freeBytes };
  }

  private onTick(): void {
    this.clientAuth.recheck();
    this.syncPeers();
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
    while (this.driver.raft.appliedIndex < this.assembly.bootCommit && performance.now() < deadline) await Bun.sleep(5);
  }

  /** The members ("id=host:port") this broker's own log or snapshot knows of; empty for a new data folder. */
  get knownMembers(): string[] {
    const { voters, learners, addresses } = this.driver.raft.membership;
    return [...voters, ...learners].map((id) => `${id}=${addresses[String(id)] ?? ""}`);
  }

  /** Set by `mqraft join` while it asks to be added again: an old removal in the replayed log is then not the end. */
  set rejoining(rejoining: boolean) {
    this.assembly.membership.rejoining = rejoining;
  }

  get rejoining(): boolean {
    return this.assembly.membership.rejoining;
  }

  /** Whether this broker's applied configuration counts it as a voter or learner. */
  get isMember(): boolean {
    return this.assembly.membership.isMember;
  }

  /** Whether the cluster added this broker during this run (MembershipDuties.joinedThisRun). */
  get joinedThisRun(): boolean {
    return this.assembly.membership.joinedThisRun;
  }

  addressOf(id: NodeId): string {
    return this.assembly.addressOf(id);
  }

  /** Moves leadership to the most up-to-date other voter before a planned stop, so that publishing pauses only briefly. */
  async handOffLeadership(): Promise<void> {
    const raft = this.assembly?.raft;
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
    this.listener?.stop();
    this.observability?.stop();
    this.readIndex.stop();
    this.peers?.stop();
    await this.assembly?.stop();
    this.settleStopped(reason);
  }
}

function retentionOf(config: BrokerConfig): Retention {
  const r: Retention = {};
  if (config.retention.maxMessages !== undefined) r.maxMessages = config.retention.maxMessages;
  if (config.retention.maxBytes !== undefined) r.maxBytes = config.retention.maxBytes;
  if (config.retention.maxAgeMs !== undefined) r.maxAgeMs = config.retention.maxAgeMs;
  return r;
}
