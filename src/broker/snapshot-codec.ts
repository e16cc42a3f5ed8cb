import * as v from "valibot";
import { WholeNumberSchema } from "../util/names.ts";
import { type Retention, RetentionSchema } from "./commands.ts";
import type { Group } from "./groups/group.ts";
import type { ProducerWindow } from "./producer-window.ts";
import { DurableSchema, encodeDurable, restoreDurables } from "./snapshot-durables.ts";
import {
  type ColumnReader,
  corrupt,
  decodeCbor,
  framed,
  SNAPSHOT_FORMAT,
  splitSnapshot,
  validated,
} from "./snapshot-format.ts";
import { encodeGroup, restoreGroups } from "./snapshot-groups.ts";
import {
  encodeProducer,
  HeaderProducerV2Schema,
  HeaderProducerV3Schema,
  ProducerV1Schema,
  readProducer,
  restoreProducers,
} from "./snapshot-producers.ts";
import {
  encodeTopic,
  HeaderTopicSchema,
  HeaderTopicV4Schema,
  readTopic,
  readTopicV4,
  restoreTopics,
  TopicEntrySchema,
} from "./snapshot-topics.ts";
import { restoreUsers, UserSchema } from "./snapshot-users.ts";
import type { DurableRecord } from "./subscriptions.ts";
import type { TopicIndex } from "./topic-index.ts";
import type { UserRecord } from "./users.ts";

/**
 * The state machine's snapshot (layout in docs/state-machine.md). Version 4, written now (5 when a consumer group
 * hands out runs, the same layout): a magic
 * number, the length of a CBOR header (names, counts, retention, durable subscriptions), the
 * header, then every typed-array column's bytes as they are in memory (little-endian on every
 * platform Bun runs on). Encoding copies no column: the parts are views that topic-index.ts and
 * producer-window.ts keep intact while they are held, so a snapshot of a million messages costs
 * the broker no pause to serialise. Version 4 holds each topic's messages in runs (topic-index.ts), where version 3
 * had four columns a message; version 3 added each producer's epoch and next seq to version 2,
 * which is still read (its producers never registered), as is version 1, one CBOR map with the
 * columns as byte strings. Each section has its codec: snapshot-topics.ts, snapshot-producers.ts,
 * snapshot-durables.ts, snapshot-groups.ts, snapshot-users.ts; the framing is snapshot-format.ts.
 */

export { SNAPSHOT_FORMAT, splitSnapshot };

const common = {
  format: v.literal(SNAPSHOT_FORMAT),
  appliedIndex: WholeNumberSchema,
  time: WholeNumberSchema,
  retention: RetentionSchema,
};

const SnapshotV1Schema = v.object({
  ...common,
  version: v.literal(1),
  topics: v.array(TopicEntrySchema),
  producers: v.array(ProducerV1Schema),
  durables: v.array(DurableSchema),
});
/** Any version once read: the header's fields, with each topic's and producer's columns as bytes. */
type Parsed = Omit<v.InferOutput<typeof SnapshotV1Schema>, "version" | "producers" | "topics"> & {
  topics: Parameters<typeof restoreTopics>[0];
  retentionSet?: boolean;
  groups?: unknown[];
  users?: UserRecord[];
  producers: ReturnType<typeof readProducer>[];
};

/** What versions 3 and 4 add to version 2's header (their topics differ). */
const laterFields = {
  ...common,
  /** Whether a config command set the retention (absent: as for version 2). */
  retentionSet: v.optional(v.boolean()),
  producers: v.array(HeaderProducerV3Schema),
  durables: v.array(DurableSchema),
  /** Consumer groups (groups/group-snapshot.ts), absent when there are none. */
  groups: v.optional(v.array(v.unknown())),
  /** The users (users.ts), in the order they were added; absent: none (as before users existed). */
  users: v.optional(v.array(UserSchema)),
};

/** Versions 2 to 4's header: the columns follow it, each topic's then each producer's, in the order listed here. */
const HeaderSchema = v.variant("version", [
  v.object({
    ...common,
    version: v.literal(2),
    topics: v.array(HeaderTopicSchema),
    producers: v.array(HeaderProducerV2Schema),
    durables: v.array(DurableSchema),
  }),
  v.object({ ...laterFields, version: v.literal(3), topics: v.array(HeaderTopicSchema) }),
  /** Version 4: version 3 with each topic's messages in runs (snapshot-topics.ts). */
  v.object({ ...laterFields, version: v.literal(4), topics: v.array(HeaderTopicV4Schema) }),
  /**
   * Version 5: version 4 with a consumer group that hands out runs (its settings' `run`, command version 4), written
   * only then: a build from before runs refuses it rather than drop the setting and hand out messages differently.
   */
  v.object({ ...laterFields, version: v.literal(5), topics: v.array(HeaderTopicV4Schema) }),
]);
export type SnapshotHeader = v.InferOutput<typeof HeaderSchema>;

export interface SnapshotParts {
  appliedIndex: number;
  time: number;
  retention: Retention;
  retentionSet: boolean;
  /** In id order. */
  topics: Iterable<TopicIndex>;
  /** From least to most recently active. */
  producers: Iterable<ProducerWindow>;
  /** In creation order. */
  durables: Iterable<DurableRecord>;
  /** In creation order. */
  groups?: Iterable<Group>;
  /** In the order they were added. */
  users: Iterable<UserRecord>;
}

export interface RestoredParts {
  appliedIndex: number;
  time: number;
  retention: Retention;
  retentionSet: boolean;
  topics: TopicIndex[];
  producers: ProducerWindow[];
  durables: DurableRecord[];
  groups: Group[];
  users: UserRecord[];
}

/** The snapshot as the pieces to write one after the other: the prefix, the header, then views of the columns. */
export function encodeSnapshot(parts: SnapshotParts): Uint8Array[] {
  const columns: Uint8Array[] = [];
  const topics = Array.from(parts.topics, (t) => encodeTopic(t, columns));
  const producers = Array.from(parts.producers, (p) => encodeProducer(p, columns));
  const durables = Array.from(parts.durables, encodeDurable);
  const groups = Array.from(parts.groups ?? [], encodeGroup);
  const runs = groups.some((g) => g.settings.run !== undefined);
  const users = Array.from(parts.users, (u) => ({ ...u }));
  return joinSnapshot(
    {
      format: SNAPSHOT_FORMAT,
      version: runs ? 5 : 4,
      appliedIndex: parts.appliedIndex,
      time: parts.time,
      retention: parts.retention,
      retentionSet: parts.retentionSet,
      topics,
      producers,
      durables,
      ...(groups.length === 0 ? {} : { groups }),
      ...(users.length === 0 ? {} : { users }),
    },
    columns,
  );
}

/** A version 2 to 5 snapshot of this header and these column bytes (exposed for tests that build damaged ones). */
export function joinSnapshot(header: SnapshotHeader, columns: Uint8Array[]): Uint8Array[] {
  return [...framed(header), ...columns];
}

/** Versions 2 to 5 in the shape version 1 is read in: the header with each column cut from the body by its count. */
function readColumns(header: unknown, body: Uint8Array): Parsed {
  const h = validated(HeaderSchema, header);
  let at = 0;
  const take: ColumnReader = (count, width, what) => {
    const length = count * width;
    if (at + length > body.byteLength) throw corrupt(`${what} runs past the end`);
    at += length;
    return body.subarray(at - length, at);
  };
  const topics =
    h.version === 4 || h.version === 5
      ? h.topics.map((t) => readTopicV4(t, take))
      : h.topics.map((t) => readTopic(t, take));
  const producers = h.producers.map((p) => readProducer(p, take));
  if (at !== body.byteLength) throw corrupt(`${body.byteLength - at} bytes after the last column`);
  return {
    format: h.format,
    appliedIndex: h.appliedIndex,
    time: h.time,
    retention: h.retention,
    ...("retentionSet" in h && h.retentionSet !== undefined ? { retentionSet: h.retentionSet } : {}),
    durables: h.durables,
    ...("groups" in h && h.groups !== undefined ? { groups: h.groups } : {}),
    ...("users" in h && h.users !== undefined ? { users: h.users } : {}),
    topics,
    producers,
  };
}

export function decodeSnapshot(bytes: Uint8Array): RestoredParts {
  const v2 = splitSnapshot(bytes);
  const s: Parsed = v2 === undefined ? validated(SnapshotV1Schema, decodeCbor(bytes)) : readColumns(v2.header, v2.body);
  const topics = restoreTopics(s.topics, s.appliedIndex, s.time);
  const byName = new Map(topics.map((t) => [t.name, t]));
  // before version 3 only a leader's flags ever set retention: a policy with a limit was set, an empty one never
  const retentionSet = s.retentionSet ?? Object.values(s.retention).some((limit) => limit !== undefined);
  return {
    appliedIndex: s.appliedIndex,
    time: s.time,
    retention: s.retention,
    retentionSet,
    topics,
    producers: restoreProducers(s.producers, s.appliedIndex, s.time, topics),
    durables: restoreDurables(s.durables, byName),
    groups: restoreGroups(s.groups ?? [], byName),
    users: restoreUsers(s.users ?? []),
  };
}
