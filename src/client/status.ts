import { MqraftError } from "../util/errors.ts";
import type { NodeStatus, StatusReply } from "../wire/index.ts";
import { isRetryable } from "./client-errors.ts";
import { withDeadline } from "./deadline.ts";
import type { RequestChannel } from "./request-channel.ts";
import type { ServerPool } from "./server-pool.ts";

/** One member, each field as its own answer gave it, or null where nothing that knows it answered. */
export interface MemberStatus {
  id: number;
  address: string;
  role: NodeStatus["role"];
  voter: boolean;
  /** It answered just now and, when there is a leader, the leader heard from it within an election timeout. */
  reachable: boolean;
  term: number | null;
  commitIndex: number | null;
  lastApplied: number | null;
  /** The last index of its log. */
  lastIndex: number | null;
  /** The term of its last entry (null from brokers that do not say). */
  lastTerm: number | null;
  version: string | null;
  uptimeMs: number | null;
  diskBytes: number | null;
  diskFreeBytes: number | null;
  /** Its disk alarm is raised (null when it did not say). */
  diskAlarm: boolean | null;
}

/** The cluster as its members say it is: `leader` is null when no member says it leads. */
export interface ClusterStatus {
  leader: number | null;
  /** The leader's term, else the highest term any member answered with; null if none answered. */
  term: number | null;
  nodes: MemberStatus[];
}

type View = Omit<StatusReply, "type" | "id">;

/**
 * Asks any broker for the members, then every member for itself, and merges: each row comes from the member's own
 * answer, a member that does not answer is shown as unknown, and a leader is one that says so itself (the highest
 * term wins if two do). The leader's view decides the membership and whether each member is in contact with it.
 * Rejects with UNAVAILABLE if no broker answers before the deadline.
 */
export async function fetchStatus(pool: ServerPool, deadline: number, first?: string): Promise<ClusterStatus> {
  const seed = await firstView(pool, deadline, first);
  const addresses = new Map(seed.nodes.filter((n) => n.address !== "").map((n) => [n.id, n.address]));
  const answers = new Map<number, View>();
  await Promise.all(
    [...addresses].map(async ([id, address]) => {
      // a stopped broker refuses at once; only one that is hung or cut off takes the whole timeout
      const view = await askAddress(pool, address, deadline).catch(() => undefined);
      if (view?.nodes.some((n) => n.id === id)) answers.set(id, view);
    }),
  );
  const own = (id: number): NodeStatus | undefined => answers.get(id)?.nodes.find((n) => n.id === id);
  const leaders = [...answers.keys()]
    .filter((id) => own(id)?.role === "leader")
    .sort((a, b) => (own(b)?.term ?? 0) - (own(a)?.term ?? 0));
  const leader = leaders[0];
  const authority = leader === undefined ? highestTerm([...answers.values(), seed]) : (answers.get(leader) as View);
  pool.learnMembers(authority.nodes.filter((n) => n.address !== ""));
  const nodes = authority.nodes.map((row): MemberStatus => {
    const self = own(row.id);
    const heardByLeader = leader === undefined || row.id === leader || row.reachable === true;
    return {
      id: row.id,
      address: row.address,
      role: self?.role ?? "unknown",
      voter: row.voter,
      reachable: self !== undefined && heardByLeader,
      term: self?.term ?? null,
      commitIndex: self?.commitIndex ?? null,
      lastApplied: self?.lastApplied ?? null,
      lastIndex: self?.lastIndex ?? null,
      lastTerm: self?.lastTerm ?? null,
      version: self?.version ?? null,
      uptimeMs: self?.uptimeMs ?? null,
      diskBytes: self?.diskBytes ?? null,
      diskFreeBytes: self?.diskFreeBytes ?? null,
      diskAlarm: self?.diskAlarm ?? null,
    };
  });
  const terms = nodes.map((n) => n.term).filter((t): t is number => t !== null);
  return {
    leader: leader ?? null,
    term: leader === undefined ? (terms.length === 0 ? null : Math.max(...terms)) : (own(leader)?.term ?? null),
    nodes,
  };
}

/** A member and its live subscriptions to a topic, or null when it did not answer. */
export interface MemberSubscribers {
  id: number;
  address: string;
  subscribers: number | null;
}

/**
 * How many live subscriptions each member has on `topic`: subscriptions are a broker's own (each client is connected
 * to one broker), so every member is asked, as fetchStatus does.
 */
export async function fetchSubscribers(
  pool: ServerPool,
  deadline: number,
  topic: string,
): Promise<MemberSubscribers[]> {
  const seed = await firstView(pool, deadline);
  const members = seed.nodes.filter((n) => n.address !== "");
  return Promise.all(
    members.map(async ({ id, address }) => {
      const view = await askAddress(pool, address, deadline, topic).catch(() => undefined);
      return { id, address, subscribers: view?.nodes.find((n) => n.id === id)?.subscribers ?? null };
    }),
  );
}

function highestTerm(views: View[]): View {
  return views.reduce((best, view) => (view.term > best.term ? view : best));
}

/** Some broker's view, for the list of members; retried on other brokers until the deadline. */
async function firstView(pool: ServerPool, deadline: number, first?: string): Promise<View> {
  let hint = first;
  for (;;) {
    const channel = await pool.openBroker(deadline, hint);
    hint = undefined;
    try {
      const view = await ask(channel, deadline);
      pool.learnMembers(view.nodes.filter((n) => n.address !== ""));
      return view;
    } catch (e) {
      if (!isRetryable(e)) throw e;
      pool.demote(channel.address);
    } finally {
      channel.close();
    }
  }
}

async function askAddress(pool: ServerPool, address: string, deadline: number, topic?: string): Promise<View> {
  const channel = await pool.open(address, deadline);
  try {
    return await ask(channel, deadline, topic);
  } finally {
    channel.close();
  }
}

async function ask(channel: RequestChannel, deadline: number, topic?: string): Promise<View> {
  const { leader, term, nodes } = await withDeadline(
    channel.ask(topic === undefined ? { type: "status" } : { type: "status", topic }),
    deadline,
    () => new MqraftError("TIMEOUT", `${channel.address} did not answer status in time`),
  );
  return { leader, term, nodes };
}
