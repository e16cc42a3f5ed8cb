import type { BrokerHttpSource } from "../http/broker-http.ts";
import type { RaftNode } from "../raft/index.ts";
import type { LogStore } from "../storage/log-store.ts";
import { type Listener, outputBuffers, type sumMemory } from "../wire/index.ts";
import type { DiskAlarm } from "./disk-alarm.ts";
import type { ReplicatedBroker } from "./replicated-broker.ts";
import type { RoleWatcher } from "./role-watcher.ts";
import { statusView } from "./status-view.ts";

/** The parts of a running broker that /metrics, /readyz and /status read, each at request time. */
export interface BrokerParts {
  id: number;
  raft(): RaftNode;
  broker(): ReplicatedBroker;
  watcher(): RoleWatcher;
  listener(): Listener | undefined;
  store: LogStore;
  diskAlarm?: DiskAlarm | undefined;
  snapshotReceiver?: { readonly receiving: number };
  /** The connections to the other brokers (their queues and buffers are metrics). */
  peers?: () => { memoryUse(): ReturnType<typeof sumMemory> } | undefined;
  /** The output buffers kept for reuse by every connection of the process (default: the process's own). */
  outputBuffers?: { readonly use: { buffers: number; bytes: number } };
}

/** Adapts a broker's own state to what the HTTP port reports; nothing here runs on the publish path. */
export function brokerHttpSource(parts: BrokerParts): BrokerHttpSource {
  return {
    raft: () => {
      const s = parts.raft().status();
      return { ...s, peers: s.peers.map((p) => ({ id: p.id, match: p.match })) };
    },
    leaderChanges: () => parts.watcher().leaderChanges,
    logBytes: () => parts.store.logBytes,
    disk: () => {
      const alarm = parts.diskAlarm;
      if (alarm?.space === undefined) return undefined;
      return { alarm: alarm.raised, freeBytes: alarm.space.freeBytes, refusedCommands: alarm.refusedCommands };
    },
    *topics() {
      const state = parts.broker().state;
      for (const name of state.topics()) {
        const info = state.topicInfo(name);
        if (info !== undefined) yield { name, messages: info.messages, bytes: info.bytes, published: info.nextOffset };
      }
    },
    *durables() {
      const state = parts.broker().state;
      for (const d of state.durables()) {
        let lag = 0;
        for (const p of d.positions) lag += (state.topicInfo(p.topic)?.nextOffset ?? 0) - p.position;
        yield { name: d.name, lag };
      }
    },
    subscriptions: () => parts.broker().feed.size,
    connections: () => parts.listener()?.connections ?? 0,
    delivered: () => parts.broker().feed.delivered,
    get publish() {
      return parts.broker().batcher.metrics;
    },
    get store() {
      return parts.store.metrics;
    },
    *memory() {
      const cache = parts.store.cacheUse();
      yield { structure: "recent_entries", items: cache.recentEntries, bytes: cache.recentBytes };
      yield { structure: "tail_mirror", items: cache.mirroredBytes, bytes: cache.mirrorCapacity };
      yield { structure: "write_buffer", items: cache.writeBufferBytes > 0 ? 1 : 0, bytes: cache.writeBufferBytes };
      const broker = parts.broker();
      yield { structure: "publishes_in_flight", items: broker.batcher.inFlight, bytes: broker.batcher.inFlightBytes };
      yield { structure: "proposals_pending", items: broker.pending.size, bytes: 0 };
      const decoded = broker.groups.decodedEntries.size;
      yield { structure: "group_entries_decoded", items: decoded.entries, bytes: decoded.bytes };
      const dedup = broker.state.dedupUse;
      yield { structure: "dedup_window", items: dedup.seqs, bytes: dedup.seqs * 20 };
      yield { structure: "dedup_producers", items: dedup.producers, bytes: 0 };
      const received = parts.snapshotReceiver?.receiving ?? 0;
      yield { structure: "snapshot_receiving", items: received > 0 ? 1 : 0, bytes: received };
      const none = { connections: 0, queuedBytes: 0, receivingBytes: 0 };
      const clients = parts.listener()?.memoryUse() ?? none;
      const peers = parts.peers?.()?.memoryUse() ?? none;
      yield { structure: "client_send_queue", items: clients.connections, bytes: clients.queuedBytes };
      yield { structure: "peer_send_queue", items: peers.connections, bytes: peers.queuedBytes };
      yield {
        structure: "frames_receiving",
        items: clients.connections + peers.connections,
        bytes: clients.receivingBytes + peers.receivingBytes,
      };
      const kept = (parts.outputBuffers ?? outputBuffers).use;
      yield { structure: "output_buffers_kept", items: kept.buffers, bytes: kept.bytes };
    },
    status: () => {
      const { type: _, ...view } = statusView(parts.raft().status(), parts.id);
      return view;
    },
  };
}
