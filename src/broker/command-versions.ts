import { MqraftError } from "../util/errors.ts";
import type { Command } from "./commands.ts";

/**
 * Command versions (docs/state-machine.md, "Command versions"): a broker that applied a command it does not know
 * differently from one that does (an invalid-command result there, a change here) would split the replicas for good.
 * So each build applies the commands up to COMMAND_VERSION and says so in its peer hello; the leader proposes a
 * command only once every member applies its version (commandRefusal), and a replica that meets one newer than it
 * stops instead of applying it (unsupportedEntry).
 */

/** The highest command version this build applies. Raise it with every new command kind or changed command. */
export const COMMAND_VERSION = 4;

/**
 * Version 3 changed `register`: a register whose session started before the registered one's is refused instead of
 * fencing it (producer-rules.ts). The leader marks a register `v: 3` only once every member applies version 3, so
 * older replicas never meet it, and an unmarked register keeps the rules of version 1 on every build.
 */
export const REGISTER_ORDER_VERSION = 3;

/**
 * Version 4 changed `group-join` and `group-ack` (groups/group-commands.ts GROUP_RUNS_VERSION): a group created with a
 * `run` hands out runs of messages, and an ack may carry `ranges`. The leader stamps such commands `v: 4` only once
 * every member applies version 4; unstamped ones keep the rules of version 1.
 */

/**
 * The version that brought each kind: 1 for every kind from before versions were counted. A kind missing here
 * fails to compile.
 */
const KIND_VERSION: Record<Command["type"], number> = {
  publish: 1,
  subscribe: 1,
  unsubscribe: 1,
  seek: 1,
  ack: 1,
  config: 1,
  register: 1,
  purge: 1,
  "group-join": 1,
  "group-leave": 1,
  "group-ack": 1,
  "group-tick": 1,
  "group-rm": 1,
  "user-add": 1,
  "user-remove": 1,
  "user-rotate": 1,
  tick: 2,
};

/** The command version a member must apply before the leader may propose a command of this kind. */
export function commandVersion(type: Command["type"]): number {
  return KIND_VERSION[type];
}

/**
 * Why this build cannot apply a decoded entry (a newer leader proposed it), or undefined when it can: an unknown
 * kind, or `v` (the version a changed command needs) above COMMAND_VERSION. The leader proposes only commands it
 * built itself, so an unknown kind in a committed entry comes from a newer build, never from a client.
 */
export function unsupportedEntry(raw: unknown): string | undefined {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return undefined;
  const { type, v } = raw as { type?: unknown; v?: unknown };
  if (typeof v === "number" && v > COMMAND_VERSION)
    return `its command needs command version ${v}, and this broker applies versions up to ${COMMAND_VERSION}`;
  if (typeof type === "string" && !Object.hasOwn(KIND_VERSION, type))
    return `its command kind "${type.slice(0, 64)}" is newer than this broker (which applies command versions up to ${COMMAND_VERSION})`;
  return undefined;
}

/** Every member of the configuration has said it applies `version` (a changed command may then carry it). */
export function everyMemberApplies(
  version: number,
  members: readonly number[],
  versionOf: (id: number) => number | undefined,
): boolean {
  return members.every((id) => (versionOf(id) ?? 0) >= version);
}

/**
 * Why the leader may not propose a command of kind `type` yet: a member of the configuration (voter or learner:
 * both apply every entry) that has not said it applies the kind's version. `versionOf` gives what a member said
 * (undefined: nothing yet).
 */
export function commandRefusal(
  type: Command["type"],
  members: readonly number[],
  versionOf: (id: number) => number | undefined,
): MqraftError | undefined {
  const needed = commandVersion(type);
  if (needed <= 1) return undefined;
  for (const id of members) {
    const has = versionOf(id);
    if (has !== undefined && has >= needed) continue;
    const said =
      has === undefined
        ? "has not said which command versions it applies (it is not connected to this leader)"
        : `applies command versions up to ${has}`;
    return new MqraftError(
      "REFUSED",
      `the cluster cannot take a ${type} command yet: it needs command version ${needed}, and broker ${id} ${said}; upgrade every broker first`,
    );
  }
  return undefined;
}
