import * as v from "valibot";
import { SubscriptionNameSchema, TopicSchema, WholeNumberSchema } from "../util/names.ts";
import { TopicPatternSchema } from "../util/topic-name.ts";
import { MAX_SUBSCRIPTION_TOPICS } from "./commands.ts";
import { corrupt, uniqueNames } from "./snapshot-format.ts";
import type { DurableRecord } from "./subscriptions.ts";
import type { TopicIndex } from "./topic-index.ts";

/** The durable subscriptions' section of a snapshot, in creation order, with their stored positions. */

export const DurableSchema = v.pipe(
  v.object({
    name: SubscriptionNameSchema,
    /** With `asked`, as many as topics match its patterns (none yet, or more than MAX_SUBSCRIPTION_TOPICS). */
    topics: v.array(TopicSchema),
    positions: v.array(WholeNumberSchema),
    holder: v.optional(SubscriptionNameSchema),
    asked: v.optional(v.pipe(v.array(TopicPatternSchema), v.minLength(1), v.maxLength(MAX_SUBSCRIPTION_TOPICS))),
  }),
  v.check(
    (d) => d.asked !== undefined || (d.topics.length >= 1 && d.topics.length <= MAX_SUBSCRIPTION_TOPICS),
    `a subscription without patterns reads 1 to ${MAX_SUBSCRIPTION_TOPICS} topics`,
  ),
);
type DurableEntry = v.InferOutput<typeof DurableSchema>;

/** A copy with only the fields the snapshot holds (absent ones left out). */
export function encodeDurable(d: DurableRecord): DurableEntry {
  return {
    name: d.name,
    topics: d.topics,
    positions: d.positions,
    ...(d.holder === undefined ? {} : { holder: d.holder }),
    ...(d.asked === undefined ? {} : { asked: d.asked }),
  };
}

/** The subscriptions, each position checked against the end of its topic. */
export function restoreDurables(entries: DurableEntry[], topics: ReadonlyMap<string, TopicIndex>): DurableRecord[] {
  const unique = uniqueNames("subscription");
  return entries.map((d) => {
    unique(d.name);
    if (new Set(d.topics).size !== d.topics.length || d.positions.length !== d.topics.length) {
      throw corrupt(`subscription "${d.name}" needs distinct topics and one position for each`);
    }
    d.topics.forEach((topic, i) => {
      const next = topics.get(topic)?.nextOffset ?? 0;
      if ((d.positions[i] as number) > next)
        throw corrupt(`subscription "${d.name}" is past the end of topic "${topic}"`);
    });
    return encodeDurable(d);
  });
}
