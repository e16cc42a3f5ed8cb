/** What the dashboard and `mqraft top` show: one picture of the cluster, rebuilt every second. */

export interface NodeView {
  id: number;
  address: string;
  role: string;
  voter: boolean;
  /** It answered this round. */
  up: boolean;
  /** The leader reaches it (or it is the leader); null when no broker that answered knows. */
  reachable: boolean | null;
  /** null: not known to any broker that answered (a broker that is down, seen by a follower). */
  term: number | null;
  commit: number | null;
  applied: number | null;
  /** Entries behind the highest commit index seen; null when its applied index is unknown. */
  lag: number | null;
  version: string;
  /** Its /metrics, when it serves HTTP. */
  metrics: string | undefined;
}

/** One second of the charts. */
export interface Point {
  t: number;
  publish: number;
  delivered: number;
  /** Ack latency quantiles over that second, in milliseconds (0 when nothing was acknowledged). */
  p50: number;
  p99: number;
}

export interface TopicView {
  name: string;
  messages: number;
  bytes: number;
  /** Messages per second published to it over the last round. */
  rate: number;
}

export interface DurableView {
  name: string;
  lag: number;
}

export type EventKind = "election" | "join" | "leave" | "unreachable" | "reachable" | "snapshot";

export interface ClusterEvent {
  t: number;
  kind: EventKind;
  text: string;
}

export interface DashboardState {
  time: number;
  leader: number;
  term: number;
  nodes: NodeView[];
  history: Point[];
  topics: TopicView[];
  durables: DurableView[];
  events: ClusterEvent[];
}

/** 15 minutes of one point per second. */
export const HISTORY_POINTS = 900;
export const EVENT_LIMIT = 200;
/** Topics and durables the picture carries (the largest; the broker's own series are bounded at 100). */
export const LIST_LIMIT = 100;

/** How much a counter grew; a smaller value means the process restarted and counted again from 0. */
export function counterDelta(previous: number | undefined, current: number): number {
  if (previous === undefined) return 0;
  return current >= previous ? current - previous : current;
}

/**
 * A quantile from the growth of cumulative histogram buckets over one round (le ascending, +Inf last): the upper
 * bound of the bucket where the rank falls, as Prometheus' histogram_quantile does without interpolation.
 */
export function bucketQuantile(q: number, buckets: readonly { le: number; count: number }[]): number {
  const total = buckets.at(-1)?.count ?? 0;
  if (total <= 0) return 0;
  const rank = q * total;
  for (const b of buckets) if (b.count >= rank) return Number.isFinite(b.le) ? b.le : (buckets.at(-2)?.le ?? 0);
  return 0;
}

/** What changed between two pictures, in the words of the broker logs. */
export function diffEvents(before: DashboardState | undefined, after: DashboardState): ClusterEvent[] {
  const t = after.time;
  const events: ClusterEvent[] = [];
  const name = (n: NodeView) => `node ${n.id} (${n.address})`;
  if (after.leader !== 0 && after.leader !== before?.leader) {
    const leader = after.nodes.find((n) => n.id === after.leader);
    events.push({
      t,
      kind: "election",
      text: `New leader ${leader ? name(leader) : `node ${after.leader}`}, term ${after.term}`,
    });
  }
  // the first brokers seen were there before the dashboard: not news
  if (before === undefined || before.nodes.length === 0) return events;
  const old = new Map(before.nodes.map((n) => [n.id, n]));
  const now = new Map(after.nodes.map((n) => [n.id, n]));
  for (const n of after.nodes) {
    const was = old.get(n.id);
    if (was === undefined) events.push({ t, kind: "join", text: `New node joins the cluster: ${name(n)}` });
    else if (was.reachable !== false && n.reachable === false)
      events.push({ t, kind: "unreachable", text: `${name(n)} is unreachable` });
    else if (was.reachable === false && n.reachable === true)
      events.push({ t, kind: "reachable", text: `${name(n)} is back` });
  }
  for (const n of before.nodes) {
    if (!now.has(n.id)) events.push({ t, kind: "leave", text: `${name(n)} left the cluster` });
  }
  return events;
}
