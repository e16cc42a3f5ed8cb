import type { TopicIndex } from "../topic-index.ts";
import type { TopicView } from "./group-records.ts";

/** What a group sees of its topic's index: the retained range and the size of each message in it. */
export function topicView(topic: TopicIndex | undefined): TopicView | undefined {
  if (topic === undefined) return undefined;
  return {
    firstOffset: topic.firstOffset,
    nextOffset: topic.nextOffset,
    sizeAt: (offset) => topic.sizeAt(offset),
    expired: (offset, now) => topic.expiredAt(offset, now),
  };
}
