import * as v from "valibot";
import { firstIssue } from "../util/config-values.ts";
import { MqraftError } from "../util/errors.ts";
import { normalizeTopic } from "../util/topic-name.ts";
import {
  type DurableSummary,
  type GroupSummary,
  type Join,
  type Leave,
  type RetentionRequest,
  RetentionRequestSchema,
  type SnapshotChunkReply,
  type SubscribeStart,
  type TopicList,
  type TopicSummary,
  type Transfer,
  type UserSummary,
} from "../wire/index.ts";
import { now } from "./deadline.ts";
import type { LeaderLink } from "./leader-link.ts";
import type { ServerPool } from "./server-pool.ts";
import { type ClusterStatus, fetchStatus, fetchSubscribers, type MemberSubscribers } from "./status.ts";

/** A cluster's retention policy: per topic, at most this many messages, payload bytes, and this old (ms). */
export type RetentionPolicy = RetentionRequest["retention"];
const RetentionPolicySchema = RetentionRequestSchema.entries.retention;

/** What a user may do: topic patterns to publish and subscribe to (docs/security.md), and whether it is an admin. */
export interface UserPermissions {
  publish?: readonly string[];
  subscribe?: readonly string[];
  admin?: boolean;
}

/** The calls of `mqraft status`, `topic`, `durable`, `group`, `user`, `retention`, `snapshot save` and membership. */
export interface MqraftAdmin {
  /** The cluster as the leader (else any broker) sees it. */
  status(): Promise<ClusterStatus>;
  /** Asks the leader to add broker `nodeId` (listening at `address`); resolves once it is a learner. */
  join(nodeId: number, address: string): Promise<void>;
  /** Asks the leader to remove broker `nodeId`; resolves once the removal is committed. */
  leave(nodeId: number): Promise<void>;
  /** Asks the leader to hand leadership to voter `to`; resolves once `to` leads. */
  transferLeadership(to: number): Promise<void>;
  /** The topics (or the one named; NOT_FOUND if never published to) and the retention in force, as the leader has them. */
  topics(topic?: string): Promise<Omit<TopicList, "type" | "id">>;
  /** Drops the oldest messages of `topic` until at most `keep` are stored (through the log); resolves with the topic after. */
  purgeTopic(topic: string, keep?: number): Promise<TopicSummary>;
  /** The durable subscriptions: all, those reading `topic`, or the one `name`d (NOT_FOUND if none). */
  durables(filter?: { topic?: string; name?: string }): Promise<DurableSummary[]>;
  /** Deletes durable subscription `name` through the log; NOT_FOUND if there is none. */
  removeDurable(name: string): Promise<void>;
  /**
   * Moves durable subscription `name` to `to` in every topic it reads (one command through the log; `{time}`: the
   * first message stored at or after it); resolves with where it now stands.
   */
  seekDurable(name: string, to: SubscribeStart): Promise<DurableSummary>;
  /** Live subscriptions to `topic` on each member (null for a member that did not answer). */
  topicSubscribers(topic: string): Promise<MemberSubscribers[]>;
  /**
   * One chunk of the leader's snapshot stream (`mqraft snapshot save`, docs/snapshots.md): from offset 0 without
   * `index` to start a save, then with the index of the first answer.
   */
  snapshotChunk(offset: number, index?: number): Promise<Omit<SnapshotChunkReply, "type" | "id">>;
  /** Adds a user (admin only); resolves with its token, which the cluster does not keep: this is the one chance to see it. */
  addUser(name: string, permissions: UserPermissions): Promise<string>;
  /** The users and their permissions (admin only); never their tokens. */
  users(): Promise<UserSummary[]>;
  /** Removes a user (admin only): its token is refused on every broker, and its open connections closed, once applied. */
  removeUser(name: string): Promise<void>;
  /** Gives a user a new token (admin only) and resolves with it; the old one stops working. */
  rotateUser(name: string): Promise<string>;
  /** The cluster's retention policy, as the leader has it (absent limits are unlimited). */
  retention(): Promise<RetentionPolicy>;
  /**
   * Replaces the cluster's retention policy through the log (a limit left out is unlimited); resolves once it is
   * committed. Every broker then drops the same messages; brokers' --retain-* flags no longer apply.
   */
  setRetention(policy: RetentionPolicy): Promise<void>;
  /** The consumer groups, or the one named (NOT_FOUND if none), as the leader has them. */
  groups(name?: string): Promise<GroupSummary[]>;
  /** Deletes consumer group `name` through the log; NOT_FOUND if there is none. */
  removeGroup(name: string): Promise<void>;
}

/** The admin calls: each one request to the leader (or, for status and subscribers, to every member) with a deadline. */
export class AdminCalls implements MqraftAdmin {
  constructor(
    protected readonly pool: ServerPool,
    protected readonly link: LeaderLink,
    protected readonly timeoutMs: number,
  ) {}

  status(): Promise<ClusterStatus> {
    return fetchStatus(this.pool, this.deadline(), this.link.channel?.address);
  }

  join(nodeId: number, address: string): Promise<void> {
    return this.leaderRequest({ type: "join", nodeId, address });
  }

  leave(nodeId: number): Promise<void> {
    return this.leaderRequest({ type: "leave", nodeId });
  }

  transferLeadership(to: number): Promise<void> {
    return this.leaderRequest({ type: "transfer", to });
  }

  async topics(topic?: string): Promise<Omit<TopicList, "type" | "id">> {
    const { retention, topics } = await this.link.call(this.deadline(), (channel) =>
      channel.ask(
        topic === undefined ? { type: "list-topics" } : { type: "list-topics", topic: normalizeTopic(topic) },
      ),
    );
    return { retention, topics };
  }

  async purgeTopic(topic: string, keep = 0): Promise<TopicSummary> {
    const reply = await this.link.call(this.deadline(), (channel) =>
      channel.ask({ type: "purge-topic", topic: normalizeTopic(topic), keep }),
    );
    const [summary] = reply.topics;
    if (summary === undefined) throw new MqraftError("BAD_MESSAGE", "the leader answered a purge without the topic");
    return summary;
  }

  async durables(filter: { topic?: string; name?: string } = {}): Promise<DurableSummary[]> {
    const reply = await this.link.call(this.deadline(), (channel) =>
      channel.ask({
        type: "list-durables",
        ...filter,
        ...(filter.topic === undefined ? {} : { topic: normalizeTopic(filter.topic) }),
      }),
    );
    return reply.durables;
  }

  async removeDurable(name: string): Promise<void> {
    await this.link.call(this.deadline(), (channel) => channel.ask({ type: "remove-durable", name }));
  }

  topicSubscribers(topic: string): Promise<MemberSubscribers[]> {
    return fetchSubscribers(this.pool, this.deadline(), normalizeTopic(topic));
  }

  async snapshotChunk(offset: number, index?: number): Promise<Omit<SnapshotChunkReply, "type" | "id">> {
    const {
      type: _,
      id: __,
      ...chunk
    } = await this.link.call(this.deadline(), (channel) =>
      channel.ask(index === undefined ? { type: "snapshot-read", offset } : { type: "snapshot-read", index, offset }),
    );
    return chunk;
  }

  async seekDurable(name: string, to: SubscribeStart): Promise<DurableSummary> {
    const reply = await this.link.call(this.deadline(), (channel) => channel.ask({ type: "seek-durable", name, to }));
    const [durable] = reply.durables;
    if (durable === undefined)
      throw new MqraftError("BAD_MESSAGE", "the leader answered a seek without the subscription");
    return durable;
  }

  async addUser(name: string, permissions: UserPermissions): Promise<string> {
    const reply = await this.link.call(this.deadline(), (channel) =>
      channel.ask({
        type: "add-user",
        name,
        publish: [...(permissions.publish ?? [])],
        subscribe: [...(permissions.subscribe ?? [])],
        admin: permissions.admin ?? false,
      }),
    );
    return reply.token;
  }

  async users(): Promise<UserSummary[]> {
    const reply = await this.link.call(this.deadline(), (channel) => channel.ask({ type: "list-users" }));
    return reply.users;
  }

  async removeUser(name: string): Promise<void> {
    await this.link.call(this.deadline(), (channel) => channel.ask({ type: "remove-user", name }));
  }

  async rotateUser(name: string): Promise<string> {
    const reply = await this.link.call(this.deadline(), (channel) => channel.ask({ type: "rotate-user", name }));
    return reply.token;
  }

  async retention(): Promise<RetentionPolicy> {
    return (await this.topics()).retention;
  }

  async setRetention(policy: RetentionPolicy): Promise<void> {
    const checked = v.safeParse(RetentionPolicySchema, policy);
    if (!checked.success)
      throw new MqraftError("BAD_USAGE", `retention ${JSON.stringify(policy)}: ${firstIssue(checked.issues)}`);
    await this.link.call(this.deadline(), (channel) => channel.ask({ type: "retention", retention: checked.output }));
  }

  async groups(name?: string): Promise<GroupSummary[]> {
    const reply = await this.link.call(this.deadline(), (channel) =>
      channel.ask(name === undefined ? { type: "list-groups" } : { type: "list-groups", name }),
    );
    return reply.groups;
  }

  async removeGroup(name: string): Promise<void> {
    await this.link.call(this.deadline(), (channel) => channel.ask({ type: "remove-group", name }));
  }

  private async leaderRequest(message: Omit<Join, "id"> | Omit<Leave, "id"> | Omit<Transfer, "id">): Promise<void> {
    await this.link.call(this.deadline(), (channel) => channel.ask(message));
  }

  /** Each call's own deadline: the client's timeout from now. */
  protected deadline(): number {
    return now() + this.timeoutMs;
  }
}
