import { COMMAND_VERSION } from "../broker/command-versions.ts";
import type { Message as RaftMessage } from "../raft/index.ts";
import type { ClientInbound, Hello, ServerInbound, WireRaftMessage } from "../wire/index.ts";

/** Messages a broker may receive on a connection it dialed, or on one it accepted. */
export type DialedInbound = ClientInbound;
export type AcceptedInbound = ServerInbound;

const RAFT_TYPES = new Set<string>([
  "append",
  "appendResponse",
  "heartbeat",
  "heartbeatResponse",
  "vote",
  "preVote",
  "voteResponse",
  "preVoteResponse",
  "snapshot",
  "snapshotResponse",
  "timeoutNow",
]);

export function isRaftMessage(m: { type: string }): m is WireRaftMessage {
  return RAFT_TYPES.has(m.type);
}

/** A validated wire message is a Raft core message: this fails to compile if the schemas drift from the core's types. */
export const toRaftMessage = (m: WireRaftMessage): RaftMessage => m;

export function peerHello(id: number, founding?: string): Hello {
  return founding === undefined
    ? { type: "hello", version: 1, role: "peer", id, commands: COMMAND_VERSION }
    : { type: "hello", version: 1, role: "peer", id, founding, commands: COMMAND_VERSION };
}
