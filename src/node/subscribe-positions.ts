import type { BrokerState } from "../broker/state-machine.ts";
import { expandPatterns, type TopicPattern } from "../util/topic-pattern.ts";
import type { Subscribe } from "../wire/index.ts";

/** Where a new push stream starts in each topic, and what it tells the client in `subscribed`. */
export interface StreamStart {
  /** The next offset to send per topic (may lie below the retained messages: a gap is sent first). */
  positions: Map<string, number>;
  /** The first offset the stream delivers per topic. */
  starts: [string, number][];
  /** The next offset not yet committed per topic. */
  ends: [string, number][];
  /** The subscription's patterns: topics created from now on that match them join the stream. */
  patterns: TopicPattern[];
}

/**
 * The topics a subscribe reads now, each with its start: the topics it names, and the existing topics its patterns
 * match (a scan of the topics, once per subscribe; topics created later are matched one by one as they appear).
 * Per topic the start is the client's resume position, else the durable subscription's, else `from`; on a resume
 * (`positions` given), a matching topic the client does not list starts at its first message, as it was created
 * after the stream began.
 */
export function streamStart(state: BrokerState, m: Subscribe, durablePositions?: Map<string, number>): StreamStart {
  // Maps, never plain objects: a topic may be named `constructor` or `__proto__`
  const asked = new Map(m.positions ?? []);
  const { topics, named, patterns } = expandPatterns(m.topics, state.topics());
  const positions = new Map<string, number>();
  const starts: [string, number][] = [];
  const ends: [string, number][] = [];
  for (const topic of topics) {
    const info = state.topicInfo(topic);
    const first = info?.firstOffset ?? 0;
    const next = info?.nextOffset ?? 0;
    const fresh = m.positions !== undefined && !named.has(topic) ? first : undefined;
    const start =
      asked.get(topic) ??
      durablePositions?.get(topic) ??
      fresh ??
      (m.from === "earliest"
        ? first
        : m.from === "latest"
          ? next
          : typeof m.from === "object"
            ? state.offsetAtTime(topic, m.from.time)
            : m.from);
    positions.set(topic, start);
    starts.push([topic, Math.max(start, first)]);
    ends.push([topic, next]);
  }
  return { positions, starts, ends, patterns };
}
