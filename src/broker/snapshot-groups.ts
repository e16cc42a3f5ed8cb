import type { Group } from "./groups/group.ts";
import { groupSnapshot, restoreGroup } from "./groups/group-snapshot.ts";
import { corrupt, uniqueNames } from "./snapshot-format.ts";
import type { TopicIndex } from "./topic-index.ts";

/** The consumer groups' section of a snapshot (each group's shape: groups/group-snapshot.ts); absent when none. */

export const encodeGroup = groupSnapshot;

/** The groups, each cursor checked against the end of its topic. */
export function restoreGroups(raw: unknown[], topics: ReadonlyMap<string, TopicIndex>): Group[] {
  const unique = uniqueNames("group");
  return raw.map((r) => {
    const group = restoreGroup(r, (topic) => topics.get(topic)?.nextOffset ?? 0);
    unique(group.name);
    if (group.cursor > (topics.get(group.topic)?.nextOffset ?? 0))
      throw corrupt(`group "${group.name}" is past the end of topic "${group.topic}"`);
    return group;
  });
}
