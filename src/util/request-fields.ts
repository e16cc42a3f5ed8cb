import * as v from "valibot";
import { SubscriptionNameSchema, TopicSchema, WholeNumberSchema } from "./names.ts";

/**
 * The fields an admin request (src/wire/messages/admin.ts) shares with the replicated command the leader proposes
 * for it (src/broker/commands.ts), defined once here, below both layers: the two schemas are built from these, so
 * a request the wire accepts is a command the state machine accepts, and neither can drift from the other.
 */

/**
 * Where a durable subscription starts (or a seek moves it) in each of its topics. A number is clamped into the
 * retained range; `{time}` is the first message stored at or after that time (ms since the epoch).
 */
export const StartSchema = v.union([
  v.picklist(["earliest", "latest"]),
  WholeNumberSchema,
  v.strictObject({ time: WholeNumberSchema }),
]);
export type Start = v.InferOutput<typeof StartSchema>;

/** `durable seek`: the `seek` command and the `seek-durable` request. */
export const SEEK_FIELDS = { name: SubscriptionNameSchema, to: StartSchema };

/** `durable rm`: the `unsubscribe` command and the `remove-durable` request. */
export const DURABLE_FIELDS = { name: SubscriptionNameSchema };

/** `topic purge`: the `purge` command and the `purge-topic` request (where `keep` may be left out: 0). */
export const PURGE_FIELDS = { topic: TopicSchema, keep: WholeNumberSchema };
