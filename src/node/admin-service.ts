import type { Command } from "../broker/commands.ts";
import type { ApplyResult } from "../broker/results.ts";
import type { BrokerState, DurableInfo } from "../broker/state-machine.ts";
import { MqraftError } from "../util/errors.ts";
import type {
  DurableList,
  DurableSummary,
  ListDurables,
  ListTopics,
  Ok,
  PurgeTopic,
  RemoveDurable,
  SeekDurable,
  TopicList,
} from "../wire/index.ts";

export type AdminRequest = ListTopics | PurgeTopic | ListDurables | RemoveDurable | SeekDurable;
export type AdminReply = TopicList | DurableList | Ok;

/** What the admin requests need of the broker: its applied state and a way through the log. */
export interface AdminHost {
  state(): BrokerState;
  propose(command: Command): Promise<ApplyResult>;
  now(): number;
}

/**
 * `mqraft topic ...` and `mqraft durable ...` on the leader. Listings read the applied state; removing or moving a
 * durable subscription are commands through the Raft log, like every other change of broker state.
 */
export async function answerAdmin(host: AdminHost, m: AdminRequest): Promise<AdminReply> {
  switch (m.type) {
    case "list-topics":
      return listTopics(host.state(), m);
    case "purge-topic": {
      const result = await host.propose({ type: "purge", time: host.now(), topic: m.topic, keep: m.keep ?? 0 });
      if (result.type === "error") throw new MqraftError(result.code, result.message);
      return listTopics(host.state(), { type: "list-topics", id: m.id, topic: m.topic });
    }
    case "list-durables":
      return { type: "durable-list", id: m.id, durables: listDurables(host.state(), m) };
    case "remove-durable":
      await removeDurable(host, m.name);
      return { type: "ok", id: m.id };
    case "seek-durable":
      return { type: "durable-list", id: m.id, durables: [await seekDurable(host, m)] };
    default: {
      const never: never = m;
      throw new MqraftError("BAD_MESSAGE", `unexpected ${(never as { type: string }).type}`);
    }
  }
}

function listTopics(state: BrokerState, m: ListTopics): TopicList {
  const names = m.topic === undefined ? state.topics() : [m.topic];
  const readers = new Map<string, number>();
  for (const durable of state.durables())
    for (const { topic } of durable.positions) readers.set(topic, (readers.get(topic) ?? 0) + 1);
  const topics = names.map((name) => {
    const info = state.topicInfo(name);
    if (info === undefined) throw new MqraftError("NOT_FOUND", `no topic ${name}: nothing was ever published to it`);
    return { name, ...info, durables: readers.get(name) ?? 0 };
  });
  return { type: "topic-list", id: m.id, retention: { ...state.retention() }, topics };
}

function listDurables(state: BrokerState, m: ListDurables): DurableSummary[] {
  if (m.name !== undefined) {
    const one = state.durable(m.name);
    if (one === undefined) throw new MqraftError("NOT_FOUND", `no durable subscription ${m.name}`);
    return [summary(state, one)];
  }
  return state
    .durables()
    .filter((d) => m.topic === undefined || d.positions.some((p) => p.topic === m.topic))
    .map((d) => summary(state, d));
}

function summary(state: BrokerState, durable: DurableInfo): DurableSummary {
  return {
    name: durable.name,
    topics: durable.positions.map(({ topic, position }) => ({
      topic,
      position,
      lag: Math.max(0, (state.topicInfo(topic)?.nextOffset ?? 0) - position),
    })),
  };
}

async function removeDurable(host: AdminHost, name: string): Promise<void> {
  const result = await host.propose({ type: "unsubscribe", time: host.now(), name });
  if (result.type === "error") throw new MqraftError(result.code, result.message);
}

/**
 * Removes the subscription and creates it again on the same topics from `to`: the state machine moves a position
 * only forward on an ack, and recreating it is the one way back it has. A subscriber that acks in between may move
 * the new position forward again; that is what it would do after the seek too.
 */
async function seekDurable(host: AdminHost, m: SeekDurable): Promise<DurableSummary> {
  const result = await host.propose({ type: "seek", time: host.now(), name: m.name, to: m.to });
  if (result.type === "error") throw new MqraftError(result.code, result.message);
  const now = host.state().durable(m.name);
  if (now === undefined) throw new MqraftError("NOT_FOUND", `durable subscription ${m.name} was removed meanwhile`);
  return summary(host.state(), now);
}
