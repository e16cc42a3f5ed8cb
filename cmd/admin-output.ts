import type { MemberSubscribers } from "../src/client/index.ts";
import { clearJson, showTopic } from "../src/util/topic-name.ts";
import type { DurableSummary, TopicList, TopicSummary } from "../src/wire/index.ts";
import { bytes, duration, table } from "./client-output.ts";

/** What `mqraft topic ...` and `mqraft durable ...` print: tables for people, the documented JSON for scripts. */

type Retention = TopicList["retention"];

export function retentionText(r: Retention): string {
  const parts = [
    r.maxMessages === undefined ? undefined : `${r.maxMessages} messages`,
    r.maxBytes === undefined ? undefined : bytes(r.maxBytes),
    r.maxAgeMs === undefined ? undefined : duration(r.maxAgeMs),
  ].filter((p) => p !== undefined);
  return parts.length === 0 ? "none (every message is kept)" : `at most ${parts.join(", ")} per topic`;
}

export function topicTable(topics: TopicSummary[]): string[] {
  const rows = topics.map((t) => [
    showTopic(t.name),
    String(t.firstOffset),
    String(t.nextOffset),
    String(t.messages),
    bytes(t.bytes),
    String(t.durables),
  ]);
  return table([["TOPIC", "FIRST", "NEXT", "MESSAGES", "BYTES", "DURABLES"], ...rows]);
}

export function topicInfoLines(topic: TopicSummary, retention: Retention, live: MemberSubscribers[]): string[] {
  return [
    `topic:            ${showTopic(topic.name)}`,
    `first offset:     ${topic.firstOffset}${topic.messages === 0 ? " (nothing stored)" : ""}`,
    `next offset:      ${topic.nextOffset}`,
    `messages:         ${topic.messages}`,
    `bytes:            ${bytes(topic.bytes)}`,
    `retention:        ${retentionText(retention)}`,
    `durables reading: ${topic.durables}`,
    `subscribers:      ${subscribersText(live)}`,
  ];
}

/** "3 (broker 1: 2, broker 2: 1, broker 3: unknown)": the total counts the brokers that answered. */
function subscribersText(live: MemberSubscribers[]): string {
  const total = live.reduce((n, m) => n + (m.subscribers ?? 0), 0);
  const each = live.map((m) => `broker ${m.id}: ${m.subscribers ?? "unknown"}`).join(", ");
  return `${total}${live.some((m) => m.subscribers === null) ? " or more" : ""} (${each})`;
}

/** `topic info --json`: the topic's fields, the retention in force, live subscribers by broker id (null: unknown). */
export function topicJson(topic: TopicSummary, retention: Retention, live: MemberSubscribers[]): string {
  const subscribers = Object.fromEntries(live.map((m) => [String(m.id), m.subscribers]));
  return clearJson({ ...topic, retention, subscribers });
}

export function durableTable(durables: DurableSummary[]): string[] {
  const rows = durables.flatMap((d) =>
    d.topics.map((t) => [d.name, showTopic(t.topic), String(t.position), String(t.lag)]),
  );
  return table([["DURABLE", "TOPIC", "POSITION", "LAG"], ...rows]);
}
