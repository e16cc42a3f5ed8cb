import { MqraftError } from "../util/errors.ts";
import type { ServerInbound } from "../wire/index.ts";
import type { Principal } from "./client-auth.ts";
import { anyCovers } from "./topic-permission.ts";

/**
 * What a client's request needs of its user (docs/security.md): publishing to a topic, subscribing to (or acking
 * in) a topic, or being an admin. The switch has no default, so a new message type fails to compile here until it
 * says what it needs.
 */
export type Need =
  | { kind: "publish"; topic: string }
  | { kind: "subscribe"; topics: readonly string[] }
  | { kind: "admin"; what: string }
  | { kind: "nothing" };

export function requestNeeds(m: ServerInbound): Need {
  switch (m.type) {
    case "publish":
      return { kind: "publish", topic: m.topic };
    case "subscribe":
      return { kind: "subscribe", topics: m.topics };
    case "ack":
      return { kind: "subscribe", topics: [m.topic] };
    // joining a consumer group reads its topic
    case "consume":
      return { kind: "subscribe", topics: [m.topic] };
    // a producer id is only an identity for deduplication; registering one stores nothing
    case "register":
    // the subscription is the connection's own, allowed when it was made; removing a durable one is an admin's
    case "unsubscribe":
    // settles only a member this connection joined (group-session.ts checks), allowed when it joined
    case "group-ack":
    case "status":
    case "readIndex":
    // handshake and errors are the session's own business, before and beside any request
    case "hello":
    case "proof":
    case "error":
      return m.type === "unsubscribe" && m.remove === true
        ? { kind: "admin", what: "remove a durable subscription" }
        : { kind: "nothing" };
    case "retention":
    case "join":
    case "leave":
    case "transfer":
    case "list-topics":
    case "purge-topic":
    case "list-durables":
    case "remove-durable":
    case "seek-durable":
    case "add-user":
    case "remove-user":
    case "rotate-user":
    case "list-users":
    case "snapshot-read":
    case "list-groups":
    case "remove-group":
      return { kind: "admin", what: m.type };
    // Raft traffic is refused on client connections before this is asked
    case "append":
    case "appendResponse":
    case "heartbeat":
    case "heartbeatResponse":
    case "vote":
    case "preVote":
    case "voteResponse":
    case "preVoteResponse":
    case "snapshot":
    case "snapshotResponse":
    case "timeoutNow":
      return { kind: "admin", what: `${m.type} (broker-to-broker)` };
    default:
      return m satisfies never;
  }
}

/**
 * FORBIDDEN, naming the permission missing (UNAUTHENTICATED for a session without a token), or undefined when
 * `principal` may make request `m`.
 */
export function forbidden(principal: Principal, m: ServerInbound): MqraftError | undefined {
  if (principal.admin) return undefined;
  if (principal.tokenless)
    return m.type === "status" || m.type === "readIndex" || m.type === "error"
      ? undefined
      : new MqraftError(
          "UNAUTHENTICATED",
          `${m.type} needs a token in this cluster: give --token, --token-file or MQRAFT_TOKEN (mqraft user add makes one)`,
        );
  const need = requestNeeds(m);
  switch (need.kind) {
    case "nothing":
      return undefined;
    case "publish":
      return anyCovers(principal.publish, need.topic)
        ? undefined
        : new MqraftError("FORBIDDEN", `user ${principal.name} may not publish to ${need.topic} (permission: publish)`);
    case "subscribe": {
      const refused = need.topics.find((topic) => !anyCovers(principal.subscribe, topic));
      return refused === undefined
        ? undefined
        : new MqraftError(
            "FORBIDDEN",
            `user ${principal.name} may not subscribe to ${refused} (permission: subscribe)`,
          );
    }
    case "admin":
      return new MqraftError("FORBIDDEN", `user ${principal.name} may not ${need.what} (permission: admin)`);
    default:
      return need satisfies never;
  }
}
