import { parseExposition, ScrapeView } from "../metrics/parse-exposition.ts";
import { splitAddress } from "../util/config-values.ts";
import { dialTls, type StatusReply } from "../wire/index.ts";
import {
  bucketQuantile,
  type ClusterEvent,
  counterDelta,
  type DashboardState,
  diffEvents,
  EVENT_LIMIT,
  HISTORY_POINTS,
  LIST_LIMIT,
  type NodeView,
  type Point,
} from "./dashboard-model.ts";
import { probeStatus } from "./node-probe.ts";

export interface CollectorOptions {
  /** Where to start: brokers or managers; the brokers their replies name are asked too. */
  seeds: () => readonly string[];
  /** Per broker and round, for the status reply and for /metrics each. */
  timeoutMs?: number;
}

interface Answer {
  address: string;
  reply: StatusReply;
  scrape: ScrapeView | undefined;
  url: string | undefined;
}

/** Counters of one broker at the previous round. */
interface Previous {
  publish: number;
  delivered: number;
  ack: Map<number, number>;
}

/**
 * Builds the dashboard's picture once per round: asks every broker it knows for its status and, where it serves
 * HTTP, its /metrics; turns counters into per-second rates and ack latency quantiles; keeps 15 minutes of points and
 * the last events. Everything it holds is bounded (HISTORY_POINTS, EVENT_LIMIT, LIST_LIMIT, the brokers it knows).
 */
export class ClusterCollector {
  private readonly history: Point[] = [];
  private readonly events: ClusterEvent[] = [];
  private readonly previous = new Map<number, Previous>();
  private readonly topicPublished = new Map<string, number>();
  private readonly snapshotCounts = new Map<number, number>();
  private learned = new Set<string>();
  private state: DashboardState | undefined;
  private lastRound = 0;

  constructor(private readonly options: CollectorOptions) {}

  get current(): DashboardState | undefined {
    return this.state;
  }

  /** One round: ask, compute, remember. */
  async collect(now = Date.now()): Promise<DashboardState> {
    const timeoutMs = this.options.timeoutMs ?? 800;
    const addresses = [...new Set([...this.options.seeds(), ...this.learned])];
    const answers = (await Promise.all(addresses.map((a) => this.ask(a, timeoutMs)))).filter(
      (a): a is Answer => a !== undefined,
    );
    const seconds = this.lastRound === 0 ? 1 : Math.max(0.001, (now - this.lastRound) / 1000);
    this.lastRound = now;
    const nodes = this.nodes(answers);
    // every broker named by a reply is asked next round; one that left is forgotten with its row
    this.learned = new Set(nodes.map((n) => n.address).filter((a) => a !== ""));
    const leaderAnswer = pickLeader(answers);
    const leader = leaderAnswer?.reply.leader ?? 0;
    const commit = Math.max(0, ...nodes.map((n) => n.commit ?? 0));
    for (const n of nodes) n.lag = n.applied === null ? null : Math.max(0, commit - n.applied);
    const point = this.point(answers, nodes, seconds, now);
    const state: DashboardState = {
      time: now,
      leader,
      term: leaderAnswer?.reply.term ?? Math.max(0, ...nodes.map((n) => n.term ?? 0)),
      nodes,
      history: this.push(this.history, point, HISTORY_POINTS),
      topics: this.topics(leaderAnswer?.scrape, seconds),
      durables: (leaderAnswer?.scrape?.all("mqraft_durable_lag_messages") ?? [])
        .map((s) => ({ name: s.labels.durable ?? "", lag: s.value }))
        .sort((a, b) => b.lag - a.lag)
        .slice(0, LIST_LIMIT),
      events: [],
    };
    for (const e of [...diffEvents(this.state, state), ...this.snapshotEvents(answers, nodes, now)])
      this.push(this.events, e, EVENT_LIMIT);
    state.events = [...this.events];
    this.state = state;
    return state;
  }

  private async ask(address: string, timeoutMs: number): Promise<Answer | undefined> {
    const reply = await probeStatus(address, timeoutMs);
    if (reply === undefined) return undefined;
    let scrape: ScrapeView | undefined;
    let url: string | undefined;
    if (reply.httpPort !== undefined) {
      const { host } = splitAddress(address);
      // a manager that dials its brokers with TLS finds their HTTP ports on HTTPS too (both come from --tls-cert)
      const tls = dialTls();
      url = `${tls === undefined ? "http" : "https"}://${host.includes(":") ? `[${host}]` : host}:${reply.httpPort}/metrics`;
      scrape = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), ...(tls === undefined ? {} : { tls }) })
        .then(async (r) => (r.ok ? new ScrapeView(parseExposition(await r.text())) : undefined))
        .catch(() => undefined);
    }
    return { address, reply, scrape, url };
  }

  /** Each broker's own row where it answered; the rest as the leader (else anyone) sees them. */
  private nodes(answers: Answer[]): NodeView[] {
    const own = new Map<number, NodeView>();
    const seen = new Map<number, NodeView>();
    const view = pickLeader(answers);
    for (const a of answers) {
      for (const row of a.reply.nodes) {
        const node: NodeView = {
          id: row.id,
          address: row.address,
          role: row.role,
          voter: row.voter,
          up: false,
          reachable: row.reachable,
          term: row.term,
          commit: row.commitIndex,
          applied: row.lastApplied,
          lag: null,
          version: row.version ?? "",
          metrics: undefined,
        };
        if (row.address === a.address) {
          node.up = true;
          node.metrics = a.url;
          own.set(row.id, node);
        } else if (a === view || !seen.has(row.id)) seen.set(row.id, node);
      }
    }
    const members =
      view === undefined ? [...new Set([...own.keys(), ...seen.keys()])] : view.reply.nodes.map((n) => n.id);
    return members
      .map((id) => {
        const mine = own.get(id);
        const theirs = seen.get(id);
        // whether the leader hears it is the leader's to say; a broker that answered us and no one else is "?"
        if (mine !== undefined) mine.reachable = mine.role === "leader" ? true : (theirs?.reachable ?? null);
        return mine ?? theirs;
      })
      .filter((n): n is NodeView => n !== undefined)
      .sort((a, b) => a.id - b.id);
  }

  private point(answers: Answer[], nodes: NodeView[], seconds: number, now: number): Point {
    let publish = 0;
    let delivered = 0;
    const ackGrowth = new Map<number, number>();
    for (const a of answers) {
      const id = a.reply.nodes.find((n) => n.address === a.address)?.id;
      if (id === undefined || a.scrape === undefined) continue;
      const s = a.scrape;
      const before = this.previous.get(id);
      const current: Previous = {
        publish: s.value("mqraft_publish_total", { result: "ok" }) ?? 0,
        delivered: s.value("mqraft_delivered_total") ?? 0,
        ack: new Map(s.buckets("mqraft_publish_ack_seconds").map((b) => [b.le, b.count])),
      };
      publish += counterDelta(before?.publish, current.publish);
      delivered += counterDelta(before?.delivered, current.delivered);
      for (const [le, count] of current.ack)
        ackGrowth.set(le, (ackGrowth.get(le) ?? 0) + counterDelta(before?.ack.get(le), count));
      this.previous.set(id, current);
    }
    for (const id of this.previous.keys()) if (!nodes.some((n) => n.id === id)) this.previous.delete(id);
    const buckets = [...ackGrowth].map(([le, count]) => ({ le, count })).sort((a, b) => a.le - b.le);
    return {
      t: now,
      publish: publish / seconds,
      delivered: delivered / seconds,
      p50: bucketQuantile(0.5, buckets) * 1000,
      p99: bucketQuantile(0.99, buckets) * 1000,
    };
  }

  private topics(scrape: ScrapeView | undefined, seconds: number) {
    if (scrape === undefined) return [];
    const topics = scrape.all("mqraft_topic_messages").map((s) => {
      const name = s.labels.topic ?? "";
      const published = scrape.value("mqraft_topic_published_total", { topic: name }) ?? 0;
      const rate = counterDelta(this.topicPublished.get(name), published) / seconds;
      this.topicPublished.set(name, published);
      return { name, messages: s.value, bytes: scrape.value("mqraft_topic_bytes", { topic: name }) ?? 0, rate };
    });
    for (const name of this.topicPublished.keys())
      if (!topics.some((t) => t.name === name)) this.topicPublished.delete(name);
    return topics.sort((a, b) => b.messages - a.messages).slice(0, LIST_LIMIT);
  }

  /** A broker whose snapshot count grew took a snapshot this round. */
  private snapshotEvents(answers: Answer[], nodes: NodeView[], now: number): ClusterEvent[] {
    const events: ClusterEvent[] = [];
    for (const n of nodes) {
      const a = answers.find((x) => x.address === n.address);
      const count = a?.scrape?.value("mqraft_snapshot_seconds_count");
      const before = this.snapshotCounts.get(n.id);
      if (count === undefined) continue;
      if (before !== undefined && count > before)
        events.push({ t: now, kind: "snapshot", text: `Snapshot on node ${n.id} (${n.address})` });
      this.snapshotCounts.set(n.id, count);
    }
    return events;
  }

  private push<T>(list: T[], item: T, limit: number): T[] {
    list.push(item);
    if (list.length > limit) list.splice(0, list.length - limit);
    return [...list];
  }
}

/** The answer of the broker that leads, else of the one with the highest term. */
function pickLeader(answers: Answer[]): Answer | undefined {
  const own = (a: Answer) => a.reply.nodes.find((n) => n.address === a.address);
  return (
    answers.find((a) => own(a)?.role === "leader") ??
    [...answers].filter((a) => own(a) !== undefined).sort((x, y) => y.reply.term - x.reply.term)[0]
  );
}
