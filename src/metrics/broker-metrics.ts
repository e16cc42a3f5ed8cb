import { Exposition, type Labels } from "./exposition.ts";
import type { EventLoopLag } from "./process-metrics.ts";
import type { PublishMetrics } from "./publish-metrics.ts";
import type { StoreMetrics } from "./store-metrics.ts";

/** Topics reported by name; the rest are summed into one series labelled OTHER_TOPICS (label sets stay bounded). */
export const TOPIC_SERIES_LIMIT = 100;
export const OTHER_TOPICS = "_other";

export interface RaftView {
  role: string;
  term: number;
  /** 0 when none is known. */
  leader: number;
  commit: number;
  applied: number;
  lastIndex: number;
  /** Leader only: how far each other member has matched this log. */
  peers: readonly { id: number; match: number }[];
}

/**
 * What /metrics reads from a broker at scrape time. Everything but the three *Metrics objects is
 * state the broker keeps anyway, so scraping adds no work to the publish path.
 */
export interface BrokerMetricsSource {
  raft(): RaftView;
  leaderChanges(): number;
  logBytes(): number;
  /** The disk alarm (docs/disk-full.md): raised or not, and the free bytes it last read; absent until it read any. */
  disk?(): { alarm: boolean; freeBytes: number; refusedCommands: number } | undefined;
  topics(): Iterable<TopicSize>;
  /** Durable subscriptions and, per durable, the messages committed past its positions. */
  durables(): Iterable<{ name: string; lag: number }>;
  /** Open push streams on this broker. */
  subscriptions(): number;
  connections(): number;
  delivered(): number;
  publish: PublishMetrics;
  store: StoreMetrics;
  /** What the broker holds in its bounded in-memory structures (docs/memory.md), by structure. */
  memory?(): Iterable<MemoryUse>;
}

/** One bounded structure's use: how many items it holds and the bytes they take. */
export interface MemoryUse {
  structure: string;
  items: number;
  bytes: number;
}

export interface TopicSize {
  name: string;
  messages: number;
  bytes: number;
  /** Messages ever published to it (its next offset). */
  published: number;
}

const ROLES = ["follower", "preCandidate", "candidate", "leader"] as const;

export function brokerMetricsText(s: BrokerMetricsSource, lag: EventLoopLag): string {
  const raft = s.raft();
  const out = new Exposition()
    .gauge("mqraft_raft_term", "Current Raft term of this broker.", raft.term)
    .family(
      "mqraft_raft_role",
      "gauge",
      "1 for this broker's current Raft role, 0 for the others.",
      ROLES.map((role): [Labels, number] => [{ role }, raft.role === role ? 1 : 0]),
    )
    .gauge("mqraft_raft_leader", "Node id of the leader this broker knows of, 0 when none.", raft.leader)
    .gauge("mqraft_raft_commit_index", "Highest log index known to be committed.", raft.commit)
    .gauge("mqraft_raft_applied_index", "Highest log index applied to the state machine.", raft.applied)
    .gauge("mqraft_raft_last_index", "Last index in this broker's log.", raft.lastIndex)
    .counter("mqraft_raft_leader_changes_total", "Times this broker saw a new leader.", s.leaderChanges())
    .family(
      "mqraft_follower_lag_entries",
      "gauge",
      "Leader only: entries each follower lacks of the leader's log.",
      raft.peers.map((p): [Labels, number] => [{ peer: String(p.id) }, raft.lastIndex - p.match]),
    )
    .family(
      "mqraft_publish_total",
      "counter",
      "Messages clients published to this broker, by result (ok, duplicate, or the error code).",
      [...withOk(s.publish.results)].map(([result, n]): [Labels, number] => [{ result }, n]),
    )
    .counter("mqraft_delivered_total", "Messages this broker pushed to subscribers.", s.delivered())
    .histogram("mqraft_publish_ack_seconds", "From a publish's arrival to its acknowledgement.", s.publish.ackSeconds)
    .histogram("mqraft_fsync_seconds", "One group-commit flush of the log.", s.store.fsyncSeconds)
    .histogram("mqraft_append_batch_entries", "Entries written to the log per append.", s.store.appendBatchEntries)
    .histogram("mqraft_snapshot_seconds", "Writing one snapshot of the state machine.", s.store.snapshotSeconds)
    .gauge("mqraft_log_bytes", "Bytes of log segment files on disk.", s.logBytes());
  const disk = s.disk?.();
  if (disk !== undefined)
    out
      .gauge(
        "mqraft_disk_alarm",
        "1 while the disk alarm is raised (publishes refused with DISK_FULL).",
        disk.alarm ? 1 : 0,
      )
      .gauge("mqraft_disk_free_bytes", "Free bytes on the file system of the data folder.", disk.freeBytes)
      .counter(
        "mqraft_disk_alarm_refused_commands_total",
        'Commands other than publishes refused with DISK_FULL because the disk alarm\'s budget was used up (refused publishes are in mqraft_publish_total{result="DISK_FULL"}).',
        disk.refusedCommands,
      );
  writeTopics(out, [...s.topics()]);
  const durables = [...s.durables()];
  out
    .gauge("mqraft_subscriptions", "Open push streams on this broker.", s.subscriptions())
    .gauge("mqraft_durable_subscriptions", "Durable subscriptions in the cluster.", durables.length)
    .family(
      "mqraft_durable_lag_messages",
      "gauge",
      `Messages committed that a durable subscription has not acknowledged (the ${TOPIC_SERIES_LIMIT} largest).`,
      largest(durables, (d) => d.lag).map((d): [Labels, number] => [{ durable: d.name }, d.lag]),
    )
    .gauge("mqraft_client_connections", "Open connections on the broker port (clients and peers).", s.connections());
  const memory = [...(s.memory?.() ?? [])];
  if (memory.length > 0) {
    out
      .family(
        "mqraft_memory_items",
        "gauge",
        "Items held by each bounded in-memory structure (docs/memory.md).",
        memory.map((m): [Labels, number] => [{ structure: m.structure }, m.items]),
      )
      .family(
        "mqraft_memory_bytes",
        "gauge",
        "Bytes held by each bounded in-memory structure (docs/memory.md).",
        memory.map((m): [Labels, number] => [{ structure: m.structure }, m.bytes]),
      );
  }
  lag.write(out);
  return out.text();
}

function writeTopics(out: Exposition, topics: TopicSize[]): void {
  const top = largest(topics, (t) => t.messages);
  const shown = new Set(top);
  const rest = { messages: 0, bytes: 0, published: 0 };
  for (const t of topics) {
    if (shown.has(t)) continue;
    rest.messages += t.messages;
    rest.bytes += t.bytes;
    rest.published += t.published;
  }
  const series = [...top];
  if (topics.length > top.length) series.push({ name: OTHER_TOPICS, ...rest });
  out
    .gauge("mqraft_topics", "Topics in the cluster.", topics.length)
    .family(
      "mqraft_topic_messages",
      "gauge",
      `Retained messages per topic (the ${TOPIC_SERIES_LIMIT} largest; "${OTHER_TOPICS}" sums the rest).`,
      series.map((t): [Labels, number] => [{ topic: t.name }, t.messages]),
    )
    .family(
      "mqraft_topic_bytes",
      "gauge",
      `Retained payload bytes per topic (same topics as mqraft_topic_messages).`,
      series.map((t): [Labels, number] => [{ topic: t.name }, t.bytes]),
    )
    .family(
      "mqraft_topic_published_total",
      "counter",
      "Messages ever published per topic, its next offset (same topics as mqraft_topic_messages).",
      series.map((t): [Labels, number] => [{ topic: t.name }, t.published]),
    );
}

function largest<T>(items: T[], size: (item: T) => number): T[] {
  if (items.length <= TOPIC_SERIES_LIMIT) return items;
  return [...items].sort((a, b) => size(b) - size(a)).slice(0, TOPIC_SERIES_LIMIT);
}

/** The "ok" series exists from the start, so rate() has a first sample before the first publish. */
function withOk(results: ReadonlyMap<string, number>): Map<string, number> {
  return new Map([["ok", 0], ...results]);
}
